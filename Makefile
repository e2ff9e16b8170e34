# flashbridge front door.
#   make run    build and run the demo session on the simulated board
#   make test   build everything and run every test (what CI runs)
# Every target installs the Debian packages it needs first (scripts/deps.sh).

BUILD      ?= build
HOST_BUILD := $(BUILD)/host
FUZZ_BUILD := $(BUILD)/fuzz
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_RUNS  ?= 200000

HOST_PKGS  := cmake ninja-build gcc libc6-dev libcmocka-dev python3
FUZZ_PKGS  := clang libclang-rt-14-dev

.PHONY: all deps build run test fuzz fuzz-build fuzz-smoke clean

all: build

deps:
	@scripts/deps.sh $(HOST_PKGS) $(FUZZ_PKGS)

$(HOST_BUILD)/build.ninja: CMakeLists.txt
	cmake -S . -B $(HOST_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(HOST_BUILD)/build.ninja
	cmake --build $(HOST_BUILD) -j $(JOBS)

run: build
	scripts/demo.sh $(HOST_BUILD)

test: build
	cd $(HOST_BUILD) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) --no-print-directory fuzz-smoke

$(FUZZ_BUILD)/build.ninja: CMakeLists.txt
	CC=clang cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DFB_FUZZ=ON -DFB_SANITIZE=ON

fuzz-build: deps $(FUZZ_BUILD)/build.ninja
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_i2c

# Bounded run that is part of `make test`; prints the number of executions.
fuzz-smoke: fuzz-build
	scripts/fuzz.sh $(FUZZ_BUILD)/fuzz/fuzz_i2c $(FUZZ_RUNS)

# Longer soak, not part of `make test`.
fuzz: fuzz-build
	scripts/fuzz.sh $(FUZZ_BUILD)/fuzz/fuzz_i2c 20000000

clean:
	rm -rf $(BUILD)
