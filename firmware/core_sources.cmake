# The portable core's sources: one list for the host build (firmware/CMakeLists.txt)
# and the STM32F103 build (firmware/port/stm32f103/CMakeLists.txt).
set(FB_CORE_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/core/cfgstore.c
  ${CMAKE_CURRENT_LIST_DIR}/core/crc.c
  ${CMAKE_CURRENT_LIST_DIR}/core/datafile.c
  ${CMAKE_CURRENT_LIST_DIR}/core/engine.c
  ${CMAKE_CURRENT_LIST_DIR}/core/errors.c
  ${CMAKE_CURRENT_LIST_DIR}/core/i2c_target.c
  ${CMAKE_CURRENT_LIST_DIR}/core/mailbox.c
  ${CMAKE_CURRENT_LIST_DIR}/core/stream.c
  ${CMAKE_CURRENT_LIST_DIR}/drivers/w25q64.c)
