# Shortcuts for the two commands of the README.
.PHONY: run test clean

run:
	bash scripts/run.sh

test:
	bash scripts/test.sh

clean:
	rm -rf build build-asan
