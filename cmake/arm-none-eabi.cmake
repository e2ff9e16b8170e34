# CMake toolchain file: Debian's arm-none-eabi-gcc for the STM32F103 (Cortex-M3).
#   cmake -S firmware/port/stm32f103 -B build/stm32f103 \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake
# Packages: gcc-arm-none-eabi libnewlib-arm-none-eabi binutils-arm-none-eabi.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

find_program(CMAKE_C_COMPILER arm-none-eabi-gcc REQUIRED)
find_program(CMAKE_OBJCOPY arm-none-eabi-objcopy REQUIRED)
find_program(CMAKE_SIZE arm-none-eabi-size REQUIRED)

set(CMAKE_C_FLAGS_INIT "-mcpu=cortex-m3 -mthumb")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-mcpu=cortex-m3 -mthumb --specs=nano.specs -nostartfiles")

# No host libraries or programs for the target; test compiles make a library, not a
# program (a program needs our linker script).
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
