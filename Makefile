# Tally: `make run` and `make test` are the two commands a fresh machine needs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go
PKG := github.com/tallystudio/tally
VERSION := $(shell sed -n 's/^ *Version *= *"\(.*\)"/\1/p' FyneApp.toml)
LDFLAGS := -X $(PKG)/app.Version=$(VERSION)
# Recipes that compile cgo first load where FFmpeg 8 lives (PKG_CONFIG_PATH and an
# rpath, so binaries run without LD_LIBRARY_PATH).
WITH_FFMPEG = eval "$$(scripts/ffmpeg --env)" &&
TEST_TIMEOUT ?= 15m

.PHONY: all deps ffmpeg build run test test-unit vet vet-cross screenshots fuzz bench bench-go bench-stream bench-studio soak package clean

all: build

deps:
	@scripts/deps

ffmpeg: deps
	@scripts/ffmpeg

build: ffmpeg
	@$(WITH_FFMPEG) $(GO) build -ldflags '$(LDFLAGS)' -o bin/tally .
	@echo "built bin/tally $(VERSION)"

run: build
	bin/tally

vet: ffmpeg vet-cross
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "not gofmt-formatted:"; echo "$$unformatted"; exit 1; fi
	@$(WITH_FFMPEG) $(GO) vet ./...
	@$(WITH_FFMPEG) $(GO) run $(STATICCHECK) ./...
	@$(WITH_FFMPEG) cd interop && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...

# The linter, pinned and run through `go run`, so a fresh machine needs nothing
# more than the Go module proxy. Its default checks: bugs (SA), simplifications
# (S), unused code (U) and most style rules (ST).
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

# The packages that build without cgo, type-checked for the other systems the
# README gives steps for, so that a Linux-only call breaks `make vet` and not a
# Windows or macOS build. Windows gets `go build` for the packages whose tests
# use internal/peers: those tests drive Linux servers and are never run there.
CROSS_PKGS := ./rtmpclient/ ./flv/ ./ingest/ ./internal/cputime/ ./internal/localeenv/ ./assets/
vet-cross:
	@CGO_ENABLED=0 GOOS=darwin $(GO) vet $(CROSS_PKGS) ./internal/...
	@CGO_ENABLED=0 GOOS=windows $(GO) build $(CROSS_PKGS)
	@CGO_ENABLED=0 GOOS=windows $(GO) vet ./internal/cputime/ ./internal/localeenv/ ./assets/

# -count=1: the integration tests talk to real servers, so a cached pass proves nothing.
# -p 1: one package at a time. The integration tests judge timing (A/V sync within
# a frame, queue bounds, reconnect times) and run encoders of their own; on two
# cores, packages running side by side starved each other into false failures.
# The fast tier runs first, under the race detector, over the packages where
# goroutines meet; then everything, real peers included, without it; then the
# interop module (Tally against RTMP peers written elsewhere, in Go).
RACE_PKGS := . ./app/ ./rtmpclient/... ./ingest/ ./ui/ ./flv/ ./remote/ ./internal/...
# Each tier runs under scripts/bounded, well above its usual time (3, 11 and
# 1 minutes here): go test ends a test binary that overruns -timeout, but a
# process that cannot die would keep go test itself waiting, silently, until
# CI's limit; bounded prints what is stuck instead, and fails.
# TEST_FLAGS=-v (as .ci/run sets) prints each test as it runs.
TEST_FLAGS ?=
test: build vet test-unit
	@$(WITH_FFMPEG) scripts/bounded 40m $(GO) test -p 1 -count=1 -timeout $(TEST_TIMEOUT) $(TEST_FLAGS) -ldflags '$(LDFLAGS)' ./...
	@$(WITH_FFMPEG) cd interop && ../scripts/bounded 15m $(GO) test -count=1 -timeout $(TEST_TIMEOUT) $(TEST_FLAGS) ./...

# The fast tier alone (real-peer tests skip under -short): for your own loop.
test-unit: ffmpeg
	@$(WITH_FFMPEG) scripts/bounded 20m $(GO) test -short -race -p 1 -count=1 -timeout $(TEST_TIMEOUT) -ldflags '$(LDFLAGS)' $(RACE_PKGS)

# Long runs (SOAK each, default 30m): A/V sync, memory and frames flat,
# nginx restarted every 20 s. About three times SOAK in all.
SOAK ?= 30m
soak: build
	@$(WITH_FFMPEG) TALLY_SOAK=$(SOAK) $(GO) test -count=1 -v -run 'Soak' -timeout 6h -ldflags '$(LDFLAGS)' . 2>&1 | grep -E '^(=== RUN|--- |PASS|FAIL|ok)|soak_test.go'

# Every fuzz target for FUZZTIME each (default 30s); failures land in testdata/fuzz.
fuzz: ffmpeg
	@$(WITH_FFMPEG) scripts/fuzz

# Every benchmark and comparison in one run (about 18 minutes on 2 cores);
# rewrites docs/BENCHMARKS.md. The parts alone: bench-go, bench-stream, bench-studio.
bench: build
	@$(WITH_FFMPEG) scripts/bench

BENCHTIME ?= 2s
bench-go: ffmpeg
	@$(WITH_FFMPEG) $(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./rtmpclient/ ./flv/ ./encode/ ./app/
	@$(WITH_FFMPEG) cd bench && $(GO) test -run '^$$' -bench 'SendPath|Destinations' -benchtime 3x .

# Tally against FFmpeg's command line on the same job (about ten minutes).
bench-stream: build
	@scripts/bench-stream

# The studio window's own cost under Xvfb: preview, and live against tally stream.
bench-studio: build
	@scripts/bench-studio

# Refreshes the screenshots in docs/ from a real window under Xvfb.
screenshots: build
	@$(WITH_FFMPEG) TALLY_SCREENSHOT_DIR=$(CURDIR)/docs $(GO) test -count=1 -run 'Xvfb' -ldflags '$(LDFLAGS)' .
	@$(WITH_FFMPEG) TALLY_SCREENSHOT_DIR=$(CURDIR)/docs $(GO) test -count=1 -run 'CustomOutputIsChecked' ./ui/

# Linux packages in dist/: tally_$(VERSION)_amd64.deb, carrying the FFmpeg 8 libraries
# it links with an $$ORIGIN-relative RUNPATH, and Fyne's packager's Tally.tar.xz
# (scripts/package says what is bundled and why).
package: ffmpeg
	@scripts/package

clean:
	rm -rf bin
