# runj-go: an OCI runtime for FreeBSD jails.
GO        ?= go
PREFIX    ?= /usr/local
DESTDIR   ?=
BUILD     := build
BIN       := $(BUILD)/bin
STATICCHECK_VERSION := v0.8.2
FUZZTIME  ?= 5s
COMMIT    := $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS   := -X main.commit=$(COMMIT)
PKGS      := ./...

.PHONY: all build sim test unit e2e cross lint fuzz bench install integration demo clean

all: build

## build: the runj-go binary (never with the simulated kernel)
build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/runj-go ./cmd/runj-go

## sim: runj-go with the test-only simulated kernel, for end-to-end tests
sim:
	$(GO) build -tags simkernel -ldflags '$(LDFLAGS)' -o $(BIN)/runj-go-sim ./cmd/runj-go

## test: everything CI runs
test: lint unit cross fuzz

unit: sim
	RUNJ_GO_SIM_BINARY=$(CURDIR)/$(BIN)/runj-go-sim $(GO) test -race -count=1 $(PKGS)

## cross: build, vet and compile the tests for FreeBSD
cross:
	GOOS=freebsd GOARCH=amd64 $(GO) build $(PKGS)
	GOOS=freebsd GOARCH=amd64 $(GO) vet $(PKGS)
	GOOS=freebsd GOARCH=arm64 $(GO) build $(PKGS)
	GOOS=freebsd GOARCH=arm64 $(GO) vet $(PKGS)
	GOOS=freebsd GOARCH=amd64 $(GO) vet -tags integration ./integration
	@mkdir -p $(BUILD)/freebsd-tests
	GOOS=freebsd GOARCH=amd64 $(GO) test -c -o $(BUILD)/freebsd-tests/ $(PKGS)
	GOOS=freebsd GOARCH=amd64 $(GO) test -c -tags integration -o $(BUILD)/freebsd-tests/integration.test ./integration

$(BUILD)/tools/staticcheck:
	GOBIN=$(CURDIR)/$(BUILD)/tools $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

## lint: formatting, go vet and staticcheck
lint: $(BUILD)/tools/staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) vet -tags simkernel $(PKGS)
	$(BUILD)/tools/staticcheck $(PKGS)
	GOOS=freebsd $(BUILD)/tools/staticcheck $(PKGS)

## fuzz: a short run of every fuzz target
fuzz:
	./hack/fuzz.sh $(FUZZTIME)

## bench: Go benchmarks
bench: sim
	RUNJ_GO_SIM_BINARY=$(CURDIR)/$(BIN)/runj-go-sim $(GO) test -run '^$$' -bench . -benchmem $(PKGS)

install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BIN)/runj-go $(DESTDIR)$(PREFIX)/bin/runj-go

## integration: the FreeBSD suite; run as root on FreeBSD
integration: build
	RUNJ_GO_BINARY=$(CURDIR)/$(BIN)/runj-go $(GO) test -tags integration -count=1 -v ./integration

## demo: on FreeBSD, run a container; elsewhere, show the plan for it
demo: build
	./hack/demo.sh $(BIN)/runj-go $(BUILD)/demo

clean:
	rm -rf $(BUILD)
