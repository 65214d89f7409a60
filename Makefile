# Claimline: build, test, run and benchmark from a fresh clone.
#   make run     start claimlined with the dev config (see README)
#   make run-cluster  two claimlined (127.0.0.1:7401, :7402) on a PostgreSQL primary and its synchronous standby (docs/SCALING.md)
#   make test    every test (CI runs this through .ci/run)
#   make test-ops  Debian's Prometheus server scrapes claimlined (CI runs it after make test)
#   make bench   release build, benchmarks, BENCHMARKS.md
#   make proto   regenerate code from proto/ (committed; `make test` checks it is current)
#   make check-proto  only that check: regenerate into a temporary folder and diff
#   make vectors regenerate the golden vectors and PROTOCOL.md's appendix (Sources/claimline-vectors)
# Documentation index, operations included: docs/README.md.

SWIFT ?= swift
SWIFT_FLAGS ?=
LISTEN ?= 127.0.0.1:7400
ADMIN_LISTEN ?= 127.0.0.1:9400
DATA_DIR ?= ./.claimline
# Debian packages the build and the tests need; installed only when missing.
DEB_PACKAGES := libprotobuf-c-dev protobuf-c-compiler protobuf-compiler libsqlite3-dev pkg-config python3 python3-venv gcc make valgrind postgresql libssl-dev openssl
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps build release build-tests test test-swift test-faults test-faults-quick test-pg-tools test-python test-c test-client-package test-ops check-generated check-layers lint check-proto check-vectors proto vectors bench run run-cluster clean

all: build

# $(call install-missing,PACKAGES): installs those of the Debian PACKAGES not installed yet.
define install-missing
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
endef

deps:
	$(call install-missing,$(DEB_PACKAGES))

build: deps
	$(SWIFT) build $(SWIFT_FLAGS)

release: deps
	$(SWIFT) build -c release $(SWIFT_FLAGS)

test: deps check-generated check-layers lint test-swift check-vectors test-python test-c test-client-package test-pg-tools test-faults-quick

# tools/pg's replication and TLS commands on real clusters (a primary, its synchronous standby,
# a failover and a rejoin; a TLS-only server with a throwaway CA).
test-pg-tools: deps
	tools/pg/test-ha.sh
	tools/pg/test-tls.sh

# Real network faults (tools/faults, as root: namespaces, a bridge, nftables, SIGSTOP, PostgreSQL
# stopped and frozen): the short subset in `make test`, asserting its targets; the whole matrix
# with a release build writes its table into docs/SCALING.md ("Faults, measured").
test-faults-quick: build-tests
	tools/faults/run.sh --quick --claimlined $(CLAIMLINED_DEBUG)

test-faults: release
	tools/faults/run.sh --write-doc --claimlined $$($(SWIFT) build -c release --show-bin-path $(SWIFT_FLAGS))/claimlined

# An application that needs only the Swift client depends on clients/swift alone: it resolves
# none of the server's packages, builds, and completes a contact (tools/swift/client-package-test.sh).
test-client-package: build-tests
	tools/swift/client-package-test.sh $(CLAIMLINED_DEBUG)

# Debian's prometheus (installed when missing) scrapes claimlined's admin listener and its API
# is asked for the claimline series (tools/ops/prometheus-scrape.sh).
OPS_PACKAGES := prometheus curl
test-ops: build-tests
	$(call install-missing,$(OPS_PACKAGES))
	tools/ops/prometheus-scrape.sh $(CLAIMLINED_DEBUG) $(dir $(CLAIMLINED_DEBUG))claimline

# The clients in other languages, end to end against the claimlined that test-swift built.
CLAIMLINED_DEBUG = $(shell $(SWIFT) build --show-bin-path $(SWIFT_FLAGS))/claimlined

test-python: build-tests
	tools/pg/with-cluster.sh $(MAKE) -C clients/python test CLAIMLINED=$(CLAIMLINED_DEBUG)

test-c: build-tests
	$(MAKE) -C clients/c test CLAIMLINED=$(CLAIMLINED_DEBUG)

build-tests: deps
	$(SWIFT) build --build-tests $(SWIFT_FLAGS)

# The Swift suites run against a real PostgreSQL: tools/pg/with-cluster.sh makes a throwaway
# cluster (initdb in a temporary folder, a free loopback port), exports CLAIMLINE_PG_URL for the
# tests, and removes it when they end, pass or fail. Three passes: the unit and single-server
# suites in parallel; then, one at a time, the suites that run several claimlined processes
# (several instances on PostgreSQL, client and harness failover: they load both cores and kill
# processes on purpose); then the hostile-peer suite, which floods the server. So neither can
# slow the timing-sensitive tests of the first pass.
SEVERAL_INSTANCES := MultiInstance|Failover
test-swift: build-tests
	tools/pg/with-cluster.sh $(SWIFT) test --skip-build $(SWIFT_FLAGS) --skip HostilePeerTests --skip PartialFailureTests --skip '$(SEVERAL_INSTANCES)'
	tools/pg/with-cluster.sh $(SWIFT) test --skip-build $(SWIFT_FLAGS) --no-parallel --filter '$(SEVERAL_INSTANCES)'
	$(SWIFT) test --skip-build $(SWIFT_FLAGS) --filter 'HostilePeerTests|PartialFailureTests'

check-generated: check-proto

# The committed protoc-c output and Swift mapping must be what `make proto` would write now
# (the folders tools/codegen/generate.sh writes; .gitattributes marks them generated).
check-proto: deps
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	tools/codegen/generate.sh "$$tmp" && \
	for d in clients/swift/Sources/ClaimlineProtoC/Generated clients/swift/Sources/ClaimlineProtoC/include/claimline \
	         clients/swift/Sources/ClaimlineCore/Generated clients/swift/Sources/ClaimlineCodec/Generated Sources/ClaimlineServer/Session/Generated \
	         clients/swift/Sources/ClaimlineClient/Generated clients/c/include/claimline_methods.h \
	         clients/python/claimline/methods.py proto/PROTOCOL.md; do \
	  diff -r "$$tmp/$$d" "$$d" >/dev/null || { echo "stale generated code in $$d: run 'make proto'"; diff -r "$$tmp/$$d" "$$d" | head -20; exit 1; }; \
	done && echo "generated code is current"

# Every hand-written Swift file passes swift-format with the repository's .swift-format
# (generated code is left as its generators write it).
lint:
	git ls-files '*.swift' | grep -v '/Generated/' | grep -v '^Package.swift$$' | xargs $(SWIFT) format lint --strict

# The folders of ClaimlineServer depend on each other one way only (prints the graph).
check-layers:
	python3 tools/layers/check_layers.py Sources/ClaimlineServer

# protoc (not our encoder) must turn every vector's text format into exactly its bytes.
check-vectors: deps
	python3 tools/check_vectors_protoc.py

proto: deps
	tools/codegen/generate.sh

vectors: build
	$(SWIFT) run $(SWIFT_FLAGS) claimline-vectors .

# perf (Debian's linux-perf, installed when missing) records the profiles BENCHMARKS.md shows.
BENCH_PACKAGES := linux-perf
bench: release
	$(call install-missing,$(BENCH_PACKAGES))
	tools/bench/run.sh
	tools/faults/run.sh --write-doc --report-only --claimlined $$($(SWIFT) build -c release --show-bin-path $(SWIFT_FLAGS))/claimlined

# Starts claimlined on 127.0.0.1:7400 with the dev config (tokens in config/claimline.json), its
# admin listener (GET /metrics, /healthz, /readyz) on 127.0.0.1:9400.
run: release
	$$($(SWIFT) build -c release --show-bin-path)/claimlined --listen $(LISTEN) --admin-listen $(ADMIN_LISTEN) --data-dir $(DATA_DIR) --config config/claimline.json

# Two claimlined (127.0.0.1:7401 and :7402, data dirs .claimline-cluster/a and b) on one PostgreSQL
# cluster in .claimline-cluster/pg (made the first time, reused after), in the foreground:
# Ctrl-C stops both and PostgreSQL (tools/pg/run-cluster.sh; docs/SCALING.md).
run-cluster: release
	CLAIMLINED=$$($(SWIFT) build -c release --show-bin-path)/claimlined tools/pg/run-cluster.sh

clean:
	rm -rf .build .build-*
	$(MAKE) -C clients/python clean
	$(MAKE) -C clients/c clean
