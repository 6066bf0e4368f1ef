# Canopy's build. `make demo` and `make test` are the two commands a
# newcomer needs; everything else is a step of theirs.
SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

CACHE_DIR ?= $(or $(CANOPY_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/canopy)
export CANOPY_CACHE := $(CACHE_DIR)
K8S_VERSION := v1.37.0
K8S_BIN_DIR := $(CACHE_DIR)/k8s-$(K8S_VERSION)
export KUBEBUILDER_ASSETS := $(K8S_BIN_DIR)

CONTROLLER_GEN := go tool controller-gen
GO_TEST_FLAGS ?= -count=1 -timeout 25m

.PHONY: all
all: build

##@ Generated code and manifests

.PHONY: generate
generate: ## Generate deepcopy code.
	$(CONTROLLER_GEN) object paths=./api/...

.PHONY: manifests
manifests: ## Generate CRDs (Canopy's and HNC's), RBAC and webhook manifests.
	$(CONTROLLER_GEN) crd paths=./api/... paths=sigs.k8s.io/hierarchical-namespaces/api/v1alpha2 output:crd:artifacts:config=config/crd/bases
	$(CONTROLLER_GEN) rbac:roleName=canopy-manager paths=./internal/... output:rbac:artifacts:config=config/rbac
	$(CONTROLLER_GEN) webhook paths=./internal/... output:webhook:artifacts:config=config/webhook

.PHONY: chart-sync
chart-sync: ## Copy the CRDs and dashboards into the Helm chart (Helm reads only files inside it).
	rm -rf charts/canopy/crds charts/canopy/dashboards
	mkdir -p charts/canopy/crds charts/canopy/dashboards
	cp config/crd/bases/*.yaml charts/canopy/crds/
	cp dashboards/*.json charts/canopy/dashboards/
	cp config/rbac/role.yaml charts/canopy/templates/generated-clusterrole.yaml

.PHONY: fmt
fmt:
	gofmt -w $$(git ls-files '*.go')

.PHONY: vet
vet:
	go vet ./...

.PHONY: verify
verify: ## Fail when generated files drift, code is unformatted or vet complains.
	@tmp=$$(mktemp -d); cp -r config api charts "$$tmp"/; \
	$(MAKE) --no-print-directory generate manifests chart-sync >/dev/null; \
	if ! diff -r "$$tmp"/config config || ! diff -r "$$tmp"/api api || ! diff -r "$$tmp"/charts charts; then \
	  echo "generated files drifted: run 'make generate manifests' and commit the result"; rm -rf "$$tmp"; exit 1; fi; \
	rm -rf "$$tmp"
	@unformatted=$$(gofmt -l $$(git ls-files '*.go') $$(git ls-files --others --exclude-standard '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	go vet ./...

##@ Build

.PHONY: build
build: ## Build the manager and the kubectl plugin into bin/.
	go build -o bin/canopy-manager ./cmd/canopy-manager
	go build -o bin/kubectl-canopy ./cmd/kubectl-canopy
	cp bin/kubectl-canopy bin/kubectl-hns

.PHONY: hnc-bins
hnc-bins: ## Build HNC v1.1.0's manager, kubectl-hns and e2e suite once from its module (takeover test, hnc-e2e), cached outside the clone.
	test/tools/build-hnc.sh >/dev/null

.PHONY: k8s-bins
k8s-bins: ## Build kube-apiserver, kube-controller-manager, kubectl and etcd once, cached outside the clone.
	test/tools/build-k8s.sh >/dev/null

##@ Run and test

.PHONY: demo
demo: k8s-bins build ## Start a local control plane with Canopy and the samples; Ctrl-C stops it.
	go run ./test/tools/demo

.PHONY: test
test: k8s-bins hnc-bins verify build ## Unit, integration (real API server) and e2e tests.
	go test $(GO_TEST_FLAGS) ./...

.PHONY: hnc-e2e
hnc-e2e: k8s-bins hnc-bins build ## HNC's own e2e suite against Canopy (about 20 minutes; not part of make test); summary in .hnc-e2e/summary.md.
	go run ./test/tools/hnce2e -root . -dir .hnc-e2e

.PHONY: test-quota-race
test-quota-race: k8s-bins ## Only the hierarchical quota race tests (200 pods against a limit of 100); make test runs them too.
	go test -count=1 -run 'TestRace' -v -timeout 20m ./test/integration/quota/

.PHONY: bench
bench: k8s-bins ## Benchmarks on a real control plane (test/bench; not part of make test).
	go test -count=1 -run='^$$' -bench=. -benchtime=1x -timeout 60m ./test/bench/...
