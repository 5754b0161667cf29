# The two commands of the README.
#   make run   installs the packages, builds, and runs lakehouse on ./lakehouse-data
#   make test  installs the packages, builds, and runs every test (plain and ASan/UBSan)
.PHONY: run test build clean

build:
	bash scripts/install-deps.sh
	cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build

run: build
	bash scripts/run.sh

test:
	bash scripts/test.sh

clean:
	rm -rf build build-asan
