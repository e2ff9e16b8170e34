# flashbridge front door.
#   make run    build and run the demo session on the simulated board
#   make test   build everything and run every test (what CI runs)
#   make bench  append/read throughput against the bus capacity, v1 client vs ours
#               (virtual bus time on the simulated board); writes bench/results.json;
#               then the durability figures (wear, CLEAR latency, mount time); then the
#               latency of every command kind in every firmware state, typical and
#               maximum flash timing, sim and emulated firmware (bench/latency.json)
#   make firmware [BOARD=bluepill|steami]   the STM32F103 firmware, with its size report
#   make firmware-check   both boards, the SRAM checker, and its broken-build test
#   make powercut-emu     the exhaustive power-cut runner on the shipped firmware
#                         (flashbridge-emu, Blue Pill ELF), every scenario (long)
#   make soak-shared      the shared-bus soak for longer than `make test` does (both boards)
# Every target installs the Debian packages it needs first (scripts/deps.sh).

BUILD      ?= build
HOST_BUILD := $(BUILD)/host
FUZZ_BUILD := $(BUILD)/fuzz
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_RUNS  ?= 100000

# python3-venv, -setuptools, -wheel: the offline `pip install ./micropython` test.
HOST_PKGS  := cmake ninja-build gcc libc6-dev libcmocka-dev python3 python3-pytest dosfstools mtools \
              python3-venv python3-setuptools python3-wheel
FUZZ_PKGS  := clang libclang-rt-14-dev
FW_PKGS    := gcc-arm-none-eabi libnewlib-arm-none-eabi binutils-arm-none-eabi \
              python3-pyelftools python3-capstone
# flashbridge-emu (the firmware ELF on Unicorn) and its VCD decoding test.
EMU_PKGS   := libunicorn-dev sigrok-cli

# STM32F103 firmware: build/stm32f103 for the Blue Pill, build/stm32f103-<board> else.
BOARD      ?= bluepill
FW_BOARDS  := bluepill steami
ifeq ($(filter $(BOARD),$(FW_BOARDS)),)
$(error BOARD must be one of: $(FW_BOARDS))
endif
fw_dir = $(BUILD)/stm32f103$(if $(filter-out bluepill,$(1)),-$(1))
define fw_build
	cmake -S firmware/port/stm32f103 -B $(call fw_dir,$(1)) -G Ninja \
	  -DCMAKE_TOOLCHAIN_FILE=$(CURDIR)/cmake/arm-none-eabi.cmake -DFB_BOARD=$(1) >/dev/null
	cmake --build $(call fw_dir,$(1)) -j $(JOBS)
	@cat $(call fw_dir,$(1))/size.txt
endef

.PHONY: all deps build run run-sim test bench fuzz fuzz-build fuzz-smoke clean fw-deps firmware \
        firmware-check firmware-lint powercut-emu soak-shared

all: build

deps:
	@scripts/deps.sh $(HOST_PKGS) $(FUZZ_PKGS) $(FW_PKGS) $(EMU_PKGS)

fw-deps:
	@scripts/deps.sh cmake ninja-build python3 $(FW_PKGS)

# ELF, .bin, .hex, .map and size.txt in $(call fw_dir,BOARD).
firmware: fw-deps
	$(call fw_build,$(BOARD))

# Both boards, tools/ramcheck.py on each (the essential interrupt path and the flash
# routines reach only SRAM), then the checker must reject deliberately broken builds,
# and tools/fwsize.py's DAPLink placement check a wrongly placed image.
firmware-check: fw-deps
	$(call fw_build,bluepill)
	/usr/bin/python3 tools/ramcheck.py $(call fw_dir,bluepill)/flashbridge.elf
	$(call fw_build,steami)
	/usr/bin/python3 tools/ramcheck.py $(call fw_dir,steami)/flashbridge.elf
	tests/firmware/test_ramcheck.sh $(BUILD)
	tests/firmware/test_fwsize.sh $(BUILD)

# cppcheck and clang-tidy over the STM32F103 port (not part of `make test`).
firmware-lint:
	@scripts/deps.sh cppcheck clang-tidy libnewlib-arm-none-eabi
	tests/firmware/lint.sh

$(HOST_BUILD)/build.ninja: CMakeLists.txt
	cmake -S . -B $(HOST_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(HOST_BUILD)/build.ninja
	cmake --build $(HOST_BUILD) -j $(JOBS)

# The demo runs the real firmware binary on the emulated board (flashbridge-emu);
# `make run-sim` runs the core on the simulated board instead.
run: build fw-deps
	$(call fw_build,bluepill)
	scripts/demo.sh $(HOST_BUILD) $(call fw_dir,bluepill)/flashbridge.elf

run-sim: build
	scripts/demo.sh $(HOST_BUILD)

# A benchmark, not a test: prints the figures of docs/PERFORMANCE.md. More servers
# (e.g. flashbridge-emu) with BENCH_ARGS='--server emu=PATH'.
BENCH_ARGS ?=
LATENCY_ARGS ?= --server emu-bluepill=$(HOST_BUILD)/tests/emu/flashbridge-emu-bluepill
bench: build fw-deps
	$(HOST_BUILD)/bin/flashbridge-bench --out bench/results.json $(BENCH_ARGS)
	/usr/bin/python3 bench/pylog.py --sim $(HOST_BUILD)/bin/flashbridge-sim --out bench/pylog.json
	$(HOST_BUILD)/bin/bench_durability
	$(call fw_build,bluepill)
	$(HOST_BUILD)/bin/flashbridge-latency --out bench/latency.json $(LATENCY_ARGS)

# The firmware comes first: the emulator tests in ctest run its ELFs.
test: build
	$(MAKE) --no-print-directory firmware-check
	cd $(HOST_BUILD) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) --no-print-directory fuzz-smoke

$(FUZZ_BUILD)/build.ninja: CMakeLists.txt
	CC=clang cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DFB_FUZZ=ON -DFB_SANITIZE=ON

fuzz-build: deps $(FUZZ_BUILD)/build.ninja
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_i2c

# Bounded run that is part of `make test`; prints the number of executions.
fuzz-smoke: fuzz-build
	scripts/fuzz.sh $(FUZZ_BUILD)/bin/fuzz_i2c $(FUZZ_RUNS)

# Every scenario of the exhaustive power-cut runner on the shipped firmware (long: the
# emulator runs the firmware instruction by instruction); `make test` runs three of them.
powercut-emu: build
	$(MAKE) --no-print-directory firmware
	nice $(HOST_BUILD)/bin/powercut_runner_emu $(call fw_dir,bluepill)/flashbridge.elf
# The shared-bus soak of `make test` (test_emu_shared_bus: 10 virtual minutes at 100
# and 400 kHz on the Blue Pill ELF) for SOAK_MINUTES on each board, others' traffic at
# SOAK_TRAFFIC % of bus time, faults in SOAK_FAULTS % of our transfers.
SOAK_MINUTES ?= 60
SOAK_TRAFFIC ?= 60
SOAK_FAULTS  ?= 1
soak-shared: build fw-deps
	$(call fw_build,bluepill)
	$(call fw_build,steami)
	for b in bluepill steami; do \
	  $(HOST_BUILD)/bin/test_emu_shared --board $$b --minutes $(SOAK_MINUTES) \
	    --traffic $(SOAK_TRAFFIC) --faults $(SOAK_FAULTS) || exit 1; \
	done

# Longer soak, not part of `make test`.
fuzz: fuzz-build
	scripts/fuzz.sh $(FUZZ_BUILD)/bin/fuzz_i2c 20000000

clean:
	rm -rf $(BUILD)
