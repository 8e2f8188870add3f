# ck — developer entry points. `make check` is the one command that runs every
# test (it starts the local Keystone + Glance and registries itself); `make demo` runs ck's
# main job against that local cloud.

SHELL        := /bin/bash
GO           ?= go
STATICCHECK  := honnef.co/go/tools/cmd/staticcheck@v0.8.2
DEVCLOUD     := contrib/devcloud/devcloud.sh
VERSION      ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT       ?= $(shell git rev-parse HEAD 2>/dev/null)
DATE         ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS      := -s -w \
	-X github.com/ck-sync/ck/pkg/cli/cmdutil.Version=$(VERSION) \
	-X github.com/ck-sync/ck/pkg/cli/cmdutil.Commit=$(COMMIT) \
	-X github.com/ck-sync/ck/pkg/cli/cmdutil.Date=$(DATE)
FUZZTIME     ?= 30s
# The renderer of contrib/k8s/ck in its tests (go test ./contrib/k8s).
HELM_VERSION := v4.3.2

.PHONY: all build test unit lint units-check helm check cloud-up cloud-down cloud-logs fuzz completions man release-check demo bench clean

all: build

build: ## static binary in bin/ck
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ck ./cmd/ck

unit: ## unit tests only (integration tests skip without a local cloud)
	$(GO) test ./...

lint: ## gofmt, go vet, staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

cloud-up: ## install (if needed) and start Keystone + Glance + the test registries (and oras) on 127.0.0.1
	$(DEVCLOUD) up

cloud-down: ## stop the local cloud
	$(DEVCLOUD) down

cloud-logs:
	$(DEVCLOUD) logs

test: cloud-up helm ## every test: unit + integration against the local cloud
	eval "$$($(DEVCLOUD) env)" && $(GO) test -count=1 ./...

# systemd-analyze verify needs systemd-analyze and man (for Documentation=
# man:...): both come with the Debian machine; installed here if missing.
units-check: build man ## systemd-analyze verify of contrib/systemd (templates as NAME@example)
	@if ! command -v systemd-analyze >/dev/null || ! command -v man >/dev/null; then \
		echo "units-check: installing systemd-analyze and man (Debian packages systemd, man-db)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd man-db; \
	fi
	contrib/systemd/verify.sh bin/ck bin/man

# helm from the Go module proxy into bin/ (a few minutes the first time on a
# machine, then from the Go caches); the chart tests skip without it, or
# fail under CI=true.
helm: bin/.helm-$(HELM_VERSION) ## bin/helm, for the Kubernetes chart's tests

bin/.helm-$(HELM_VERSION):
	GOBIN=$(CURDIR)/bin $(GO) install helm.sh/helm/v4/cmd/helm@$(HELM_VERSION)
	touch $@

check: lint units-check test ## what CI runs: lint, the units, then every test

fuzz: ## run each fuzz target for FUZZTIME
	$(GO) test ./pkg/imagelist -run='^$$' -fuzz=FuzzParse -fuzztime=$(FUZZTIME)
	$(GO) test ./pkg/trust -run='^$$' -fuzz=FuzzVerify -fuzztime=$(FUZZTIME)

completions: ## regenerate completions/ from the command tree
	$(GO) run ./cmd/ck completion bash > completions/ck.bash
	$(GO) run ./cmd/ck completion zsh > completions/ck.zsh
	$(GO) run ./cmd/ck completion fish > completions/ck.fish
	$(GO) run ./cmd/ck completion powershell > completions/ck.ps1

man: ## man pages from the command tree into bin/man (generated, not committed)
	rm -rf bin/man
	$(GO) run ./cmd/ck-docs -version $(VERSION) bin/man

# Not part of `make check`: building both architectures and four packages
# takes minutes. Needs goreleaser v2 on PATH or in ~/go/bin:
#   go install github.com/goreleaser/goreleaser/v2@v2.15.1
GORELEASER   ?= $(shell command -v goreleaser 2>/dev/null || echo $(HOME)/go/bin/goreleaser)
release-check: units-check ## systemd-analyze verify, goreleaser check + a snapshot release (archives, deb, rpm) in dist/
	$(GORELEASER) check
	$(GORELEASER) release --snapshot --clean --skip=publish

demo: build cloud-up ## ck's main job on the local cloud
	contrib/demo/demo.sh

bench: build cloud-up ## transfer benchmark (spec §9, issue 14): report on stdout, see docs/benchmarks.md; BENCH_SIZES, BENCH_RUNS, BENCH_CK
	contrib/bench/bench.sh

clean:
	rm -rf bin dist
