# wxcomponent: build, test and run the WeChat third-party platform backend.
#
# `sam build` calls the build-<LogicalId> targets (BuildMethod: makefile in
# template.yaml) with ARTIFACTS_DIR set; `make build` builds the same
# binaries into build/<function>/bootstrap.

GO ?= go
SHELL := bash
.SHELLFLAGS := -o pipefail -c

# The store packages run on their own, verbosely, so the output shows the one
# conformance suite passing against both DynamoDB (moto_server) and SQLite.
STORES := ./shared/store/dynamo ./shared/store/sqlite
FUNCTIONS := ticket authorize message refresh token

# The Lambda binary: linux/arm64 (Architectures in template.yaml), static,
# without the RPC mode that only the go1.x runtime used.
GOBUILD := CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath -ldflags "-s -w"

# `make sizes` (part of `make test`) fails at this many bytes (13 MB): a
# bootstrap that big has pulled in something it should not, such as
# html/template, whose reflection keeps the whole AWS SDK alive (18 MB and
# more). The refresh function, with the SQS client of its fan-out, is about
# 12.1 MB; every function links the SSM, DynamoDB and EventBridge clients.
MAX_BOOTSTRAP_BYTES := 13000000

FUZZTIME ?= 20s

.PHONY: all build test lint fmt-check vet check-tools dev clean bench fuzz sizes FORCE \
	build-TicketFunction build-AuthorizeFunction build-MessageFunction build-RefreshFunction \
	build-TokenFunction

all: build

build: $(foreach f,$(FUNCTIONS),build/$(f)/bootstrap)

build/%/bootstrap: FORCE
	$(GOBUILD) -o $@ ./functions/$*

# Go's build cache decides what is up to date, not make.
FORCE:

# sam build targets: one per function in template.yaml.
sam-build = $(if $(ARTIFACTS_DIR),,$(error ARTIFACTS_DIR is not set: sam build sets it))$(GOBUILD) -o "$(ARTIFACTS_DIR)/bootstrap" ./functions/$(1)

build-TicketFunction:
	$(call sam-build,ticket)

build-AuthorizeFunction:
	$(call sam-build,authorize)

build-MessageFunction:
	$(call sam-build,message)

build-RefreshFunction:
	$(call sam-build,refresh)

build-TokenFunction:
	$(call sam-build,token)

# Everything runs on loopback: moto_server and headless Chromium are started
# by the tests themselves; cfn-lint runs offline.
# Tests keep what they want a person to look at (the authorization pages'
# screenshots) under build/test-output/_artifacts.
test: check-tools fmt-check vet tidy-check sizes
	mkdir -p build/test-output
	$(GO) test -race -count=1 -timeout 5m -v $(STORES) \
		| awk '/^=== / || /^PASS$$/ { next } /^ +--- PASS/ && !/Conformance(\/[A-Za-z]+)? / { next } { print }'
	$(GO) test -race -count=1 -timeout 12m -artifacts -outputdir $(CURDIR)/build/test-output \
		$$($(GO) list ./... | grep -Ev '/shared/store/(dynamo|sqlite)$$')

lint: fmt-check vet tidy-check
	cfn-lint template.yaml

fmt-check:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# go.mod and go.sum say exactly what the code imports: prints the change
# `go mod tidy` would make and fails if there is one.
tidy-check:
	$(GO) mod tidy -diff

check-tools:
	@missing=0; \
	if ! command -v moto_server >/dev/null 2>&1; then \
		echo "missing moto_server: pip install 'moto[server]'"; missing=1; fi; \
	if ! command -v cfn-lint >/dev/null 2>&1; then \
		echo "missing cfn-lint: pip install cfn-lint"; missing=1; fi; \
	if ! python3 -c 'import boto3' >/dev/null 2>&1; then \
		echo "missing boto3 (the Python examples' tests): pip install boto3"; missing=1; fi; \
	if ! command -v node >/dev/null 2>&1; then \
		echo "missing node (the Node.js example's tests): apt-get install -y nodejs npm"; missing=1; \
	elif [ ! -d examples/node/node_modules/@aws-sdk/client-lambda ]; then \
		echo "missing the Node.js example's packages: npm ci --prefix examples/node"; missing=1; \
	elif [ ! -d internal/wechatsim/testdata/wxapp-client/node_modules/co-wxapp-open-api ]; then \
		echo "missing the simulator's independent client: npm ci --prefix internal/wechatsim/testdata/wxapp-client"; missing=1; fi; \
	if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 \
		&& ! command -v google-chrome >/dev/null 2>&1; then \
		echo "missing chromium: apt-get install -y chromium"; missing=1; fi; \
	exit $$missing

# The four functions on one local server, the WeChat simulator and the
# embedded store under data/. Flags go in ARGS:
#   make dev ARGS="-addr 127.0.0.1:9090 -log json"
dev:
	$(GO) run ./cmd/wxdev $(ARGS)

clean:
	rm -rf build .aws-sam cover.out

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Runs every Fuzz target for FUZZTIME (go test -fuzz takes one target of one
# package at a time).
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		for target in $$($(GO) test -list '^Fuzz' "$$pkg" | grep '^Fuzz' || true); do \
			echo "fuzz $$pkg $$target ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) "$$pkg"; \
		done; \
	done

sizes: build
	@fail=0; for f in $(FUNCTIONS); do \
		bytes=$$(wc -c < build/$$f/bootstrap); \
		awk -v f="$$f" -v b="$$bytes" 'BEGIN { printf "%-10s %10d bytes %6.2f MiB\n", f, b, b / 1048576 }'; \
		if [ "$$bytes" -ge $(MAX_BOOTSTRAP_BYTES) ]; then echo "$$f: bootstrap is $(MAX_BOOTSTRAP_BYTES) bytes or more"; fail=1; fi; \
	done; exit $$fail
