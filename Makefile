# The two entry points of the README: `make run` and `make test`.
SWIFT ?= swift
CONFIG ?= etc/minimal.yaml

.PHONY: deps build release run test unit-test vm-test bench generate check-generated clean release-static install deb fuzz soak sanitize

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

# Release build with the Swift runtime linked in (--static-swift-stdlib), so the
# installed binaries need only Debian's libraries, never /opt/swift. Own scratch
# path: it does not disturb the normal release build.
STATIC_BUILD ?= .build-static
release-static: deps
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path $(STATIC_BUILD) --product hyper-derp
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path $(STATIC_BUILD) --product hdctl

# Installs binaries, unit, config, modules-load.d, completions and man pages
# (PREFIX=/usr/local, DESTDIR for staging; see scripts/install.sh).
PREFIX ?= /usr/local
install: release-static
	BUILD_BIN=$(STATIC_BUILD)/release PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) bash scripts/install.sh

# hyper-derp_<version>-<DEB_REVISION>_amd64.deb for Debian 12 (scripts/build-deb.sh).
DEB_REVISION ?= 1
OUT_DIR ?= .
deb: release-static
	BUILD_BIN=$(STATIC_BUILD)/release DEB_REVISION=$(DEB_REVISION) OUT_DIR=$(OUT_DIR) bash scripts/build-deb.sh

# Regenerates docs/config-reference.md, completions/ and man/ from the schema and command tables.
generate: build
	./.build/debug/hdctl generate --out .

# Fails when docs/config-reference.md, completions/ or man/ differ from the schema.
check-generated: build
	./.build/debug/hdctl generate --check --out .

bench: release
	bash scripts/bench.sh

# libFuzzer over every external-input parser (Fuzz/, docs/robustness.md):
# FUZZ_SECONDS per target (default 180), FUZZ_EXECS, FUZZ_BUILD=asan|fast (scripts/fuzz.sh); report in the build dir.
fuzz: deps
	bash scripts/fuzz.sh

# 30 minutes of mixed load on a plain and a TLS relay (not CI); CSV, PNG and
# summary in .build-soak/<time>/ (docs/robustness.md).
soak: deps
	bash scripts/soak.sh

# Integration tests under AddressSanitizer and ThreadSanitizer, all suites and
# leaks on (CI runs a subset: Tests/suites/sanitizers.sh; docs/robustness.md).
sanitize: deps
	bash scripts/sanitize.sh

clean:
	rm -rf .build
