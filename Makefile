# stowage: build, test and release tasks. Every tool the tests need is installed here at a
# pinned version and cached under .tools/ (git-ignored).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

TOOLS        := $(CURDIR)/.tools
GO           ?= go
VERSITYGW    := v1.8.0
GORELEASER   := v2.15.4
CYCLONEDX    := v1.10.0
TOXIPROXY    := v2.12.0
VEGETA       := v12.13.0
TEST_TIMEOUT ?= 30m
TEST_FLAGS   ?= -race
PKGS         ?= ./...

export STOWAGE_TOOLS := $(TOOLS)

.PHONY: all build test test-race-cli tools vet unit bench bench-scale fuzz release-check screenshots clean

all: build

# Local builds carry the same version stamp as releases (goreleaser injects its own).
GIT_VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GIT_COMMIT  := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
GIT_DATE    := $(shell git log -1 --format=%cI 2>/dev/null || echo unknown)
LDFLAGS     := -X github.com/stowage-cli/stowage/internal/cli.Version=$(GIT_VERSION) \
               -X github.com/stowage-cli/stowage/internal/cli.Commit=$(GIT_COMMIT) \
               -X github.com/stowage-cli/stowage/internal/cli.Date=$(GIT_DATE)

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o stowage ./cmd/stowage

## tools: install the pinned integration test servers (versitygw, dynalite, fauxqs) and awscli
tools: $(TOOLS)/bin/versitygw.$(VERSITYGW) $(TOOLS)/node/.installed $(TOOLS)/.awscli

$(TOOLS)/bin/versitygw.$(VERSITYGW):
	@mkdir -p $(TOOLS)/bin
	@echo "installing versitygw $(VERSITYGW) into $(TOOLS)/bin"
	GOBIN=$(TOOLS)/bin GOFLAGS= $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW)
	@touch $@

# The node test servers (dynalite, fauxqs) are installed beside the old ones and swapped in,
# so a test run that starts a server meanwhile never finds half a node_modules.
$(TOOLS)/node/.installed: internal/testenv/node/package.json internal/testenv/node/package-lock.json
	@command -v npm >/dev/null || { echo "npm is required for the DynamoDB and SQS test servers (dynalite, fauxqs): install Node.js"; exit 1; }
	@node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 20 ? 1 : 0)' || { echo "Node.js 20 or newer is required for the SQS test server (fauxqs 1.9.2): node $$(node --version)"; exit 1; }
	rm -rf $(TOOLS)/node.new $(TOOLS)/node.old && mkdir -p $(TOOLS)/node.new
	cp internal/testenv/node/package.json internal/testenv/node/package-lock.json $(TOOLS)/node.new/
	cd $(TOOLS)/node.new && npm ci --no-audit --no-fund --loglevel=error
	if [ -d $(TOOLS)/node ]; then mv $(TOOLS)/node $(TOOLS)/node.old; fi
	mv $(TOOLS)/node.new $(TOOLS)/node && rm -rf $(TOOLS)/node.old
	@touch $@

# Debian's awscli is the reference client for one cross-check test. Installed when we can
# (root with apt-get, as on CI); otherwise that test says how to get it.
# The stamp is written only once /usr/bin/aws exists, so a failed install is retried.
$(TOOLS)/.awscli:
	@mkdir -p $(TOOLS)
	@if [ ! -x /usr/bin/aws ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's awscli"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq awscli >/dev/null) \
	    || echo "warning: could not install awscli (apt-get failed)"; \
	fi
	@if [ -x /usr/bin/aws ]; then touch $@; else \
	  echo "note: /usr/bin/aws is missing: the awscli cross-check fails under CI=true and is skipped otherwise;"; \
	  echo "      install it with: sudo apt-get install awscli"; fi

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.tools/*')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change these files (run gofmt -w):"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

## test: vet, then every test (unit, golden, integration against real servers); -race for
## all but the CLI package (make test-race-cli runs it with -race too)
# The CLI package drives whole demo stacks end to end in hundreds of tests: under -race it
# alone took over 4 minutes of a 2-core run, against 45 s without. It runs without -race
# beside the race-checked rest, which holds the concurrency it drives (redrive, tui, trace,
# devstack, awsclient, inventory).
NORACE_PKGS ?= ./internal/cli
test: tools vet
	$(GO) run ./internal/testenv/cmd/withservers -- bash -c '\
	  race_pkgs=$$($(GO) list $(PKGS) | grep -v -x -F -f <($(GO) list $(NORACE_PKGS))); \
	  $(GO) test $(TEST_FLAGS) -timeout $(TEST_TIMEOUT) $$race_pkgs & race=$$!; \
	  $(GO) test -timeout $(TEST_TIMEOUT) $(NORACE_PKGS) & plain=$$!; \
	  rc=0; wait $$race || rc=1; wait $$plain || rc=1; exit $$rc'

## test-race-cli: the CLI package's tests with -race (slow: about 4 minutes on 2 cores)
test-race-cli: tools
	$(GO) run ./internal/testenv/cmd/withservers -- $(GO) test -race -timeout $(TEST_TIMEOUT) $(NORACE_PKGS)

## bench: run every benchmark once against the local servers and the devstack
bench: tools
	$(GO) run ./internal/testenv/cmd/withservers -- $(GO) test -run '^$$' -bench . -benchmem $(PKGS)

## bench-scale: stowage against awscli, an SDK floor program and vegeta on the demo behind
## toxiproxy (REQUESTS=N, default 100000; SCALE=1M; LATENCY_MS=20; CONC=16); writes
## docs/benchmarks.md with the machine. Loopback only; not part of make test.
bench-scale: $(TOOLS)/.awscli
	TOXIPROXY_VERSION=$(TOXIPROXY) VEGETA_VERSION=$(VEGETA) ./internal/bench/scale.sh

## fuzz: run each fuzz target for FUZZTIME (default 10s)
FUZZTIME ?= 10s
fuzz:
	@for pkg in $$($(GO) list $(PKGS)); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg; \
	  done; \
	done

clean:
	rm -rf dist stowage

## release-check: prove .goreleaser.yaml: check, snapshot release (no publish), inspect dist/.
## verify-dist.sh builds a second snapshot to prove the archives are reproducible.
GORELEASER_BIN := $(TOOLS)/bin/goreleaser
$(TOOLS)/bin/goreleaser.$(GORELEASER):
	@mkdir -p $(TOOLS)/bin
	@echo "installing goreleaser $(GORELEASER) into $(TOOLS)/bin"
	GOBIN=$(TOOLS)/bin GOFLAGS= $(GO) install github.com/goreleaser/goreleaser/v2@$(GORELEASER)
	@touch $@

# The SBOM generator goreleaser's sboms run for each archive (found on PATH).
$(TOOLS)/bin/cyclonedx-gomod.$(CYCLONEDX):
	@mkdir -p $(TOOLS)/bin
	@echo "installing cyclonedx-gomod $(CYCLONEDX) into $(TOOLS)/bin"
	GOBIN=$(TOOLS)/bin GOFLAGS= $(GO) install github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@$(CYCLONEDX)
	@touch $@

release-check: $(TOOLS)/bin/goreleaser.$(GORELEASER) $(TOOLS)/bin/cyclonedx-gomod.$(CYCLONEDX)
	PATH="$(TOOLS)/bin:$$PATH" $(GORELEASER_BIN) check
	PATH="$(TOOLS)/bin:$$PATH" HOMEBREW_TAP_GITHUB_TOKEN=unused-in-snapshot GOFLAGS= \
	  $(GORELEASER_BIN) release --snapshot --clean --skip=publish --parallelism 2
	PATH="$(TOOLS)/bin:$$PATH" GORELEASER="$(GORELEASER_BIN)" GO="$(GO)" bash internal/release/verify-dist.sh dist

## screenshots: regenerate screenshots/*.png from the demo (needs tmux, aha, chromium)
screenshots:
	bash screenshots/make-screenshots.sh
