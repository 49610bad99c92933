# runj-go: an OCI runtime for FreeBSD jails.
GO        ?= go
PREFIX    ?= /usr/local
DESTDIR   ?=
BUILD     := build
BIN       := $(BUILD)/bin
STATICCHECK_VERSION := v0.8.2
FUZZTIME  ?= 5s
# containerd and ctr for the shim's end-to-end test (installed, never committed)
CONTAINERD_VERSION := v2.4.2
CONTAINERD_TAGS    := no_btrfs,no_devmapper,no_zfs,no_aufs
CONTAINERD_DIR     := $(BUILD)/tools/containerd-$(CONTAINERD_VERSION)
COMMIT    := $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS   := -X main.commit=$(COMMIT)
PKGS      := ./...

.PHONY: all build sim test unit containerd-tools e2e cross lint fuzz bench install integration demo demo-plan clean

all: build

## build: the runj-go binary (never with the simulated kernel)
build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/runj-go ./cmd/runj-go
	$(GO) build -trimpath -o $(BIN)/containerd-shim-runj-go-v1 ./cmd/containerd-shim-runj-go-v1

## sim: runj-go with the test-only simulated kernel, for end-to-end tests
sim:
	$(GO) build -tags simkernel -ldflags '$(LDFLAGS)' -o $(BIN)/runj-go-sim ./cmd/runj-go

## test: everything CI runs
test: lint unit cross fuzz demo-plan

unit: sim containerd-tools
	RUNJ_GO_SIM_BINARY=$(CURDIR)/$(BIN)/runj-go-sim \
	RUNJ_GO_CONTAINERD=$(CURDIR)/$(CONTAINERD_DIR)/containerd \
	RUNJ_GO_CTR=$(CURDIR)/$(CONTAINERD_DIR)/ctr \
		$(GO) test -race -count=1 $(PKGS)

## containerd-tools: containerd and ctr at CONTAINERD_VERSION, static (no
## cgo, no btrfs/devmapper/zfs), for integration/containerd_linux_test.go
containerd-tools: $(CONTAINERD_DIR)/containerd $(CONTAINERD_DIR)/ctr

$(CONTAINERD_DIR)/containerd $(CONTAINERD_DIR)/ctr:
	GOBIN=$(CURDIR)/$(CONTAINERD_DIR) CGO_ENABLED=0 $(GO) install -tags $(CONTAINERD_TAGS) \
		github.com/containerd/containerd/v2/cmd/containerd@$(CONTAINERD_VERSION) \
		github.com/containerd/containerd/v2/cmd/ctr@$(CONTAINERD_VERSION)

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

## fuzz: a short run of every fuzz target (hack/fuzz.sh tolerates only Go's
## fuzztime deadline race; hack/fuzz_test.sh checks that classifier)
fuzz:
	./hack/fuzz_test.sh
	./hack/fuzz.sh $(FUZZTIME)

## bench: Go benchmarks, then layer unpacking against GNU tar side by side
bench: sim
	RUNJ_GO_SIM_BINARY=$(CURDIR)/$(BIN)/runj-go-sim $(GO) test -run '^$$' -bench . \
		-skip '^Benchmark(ApplyLayer|GNUTar)$$' -benchmem $(PKGS)
	GO=$(GO) ./hack/bench-layer.sh

install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BIN)/runj-go $(DESTDIR)$(PREFIX)/bin/runj-go
	install -m 0755 $(BIN)/containerd-shim-runj-go-v1 $(DESTDIR)$(PREFIX)/bin/containerd-shim-runj-go-v1

## integration: the FreeBSD suite; run as root on FreeBSD
integration: build
	RUNJ_GO_BINARY=$(CURDIR)/$(BIN)/runj-go $(GO) test -tags integration -count=1 -v ./integration

## demo: build the example server, pack it as an OCI image, make a bundle
## of it; on FreeBSD run it, elsewhere show the plan for it
demo: build
	GO=$(GO) ./hack/demo.sh $(BIN)/runj-go $(BUILD)/demo

## demo-plan: the demo up to the plan, on every system
demo-plan: build
	GO=$(GO) ./hack/demo.sh $(BIN)/runj-go $(BUILD)/demo plan

clean:
	rm -rf $(BUILD)
