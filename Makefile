# The two entry points of the README: `make run` and `make test`.
SWIFT ?= swift
CONFIG ?= etc/minimal.yaml

.PHONY: deps build release run test unit-test vm-test bench generate check-generated clean

deps:
	bash scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# Builds in release and starts the relay on the minimal example config.
run: release
	./.build/release/hyper-derp --config $(CONFIG)

# Every test: unit and loopback integration tests, generated-file drift, and
# the kernel TLS tests inside a throw-away VM.
test:
	bash scripts/test-all.sh

# Regenerates docs/config-reference.md and completions/ from the schema.
generate: build
	./.build/debug/hdctl generate --out .

# Fails when docs/config-reference.md or completions/ differ from the schema.
check-generated: build
	./.build/debug/hdctl generate --check --out .

bench: release
	bash scripts/bench.sh

clean:
	rm -rf .build
