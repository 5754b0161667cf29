# Shortcuts for the two commands of the README.
.PHONY: run test clean

run:
	bash scripts/run.sh

test:
	bash tests/run

clean:
	rm -rf build build-asan
