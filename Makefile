# The common tasks. `make test` is what CI runs.
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/nines-dev/nines/internal/version.Version=$(VERSION)

.PHONY: build test vet quick bench fuzz quickstart clean lambda

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/nines ./cmd/nines

# The whole suite, as CI runs it: vet, then every test with the race detector.
test: vet
	$(GO) test -race -timeout 30m ./...

vet:
	$(GO) vet ./...

# The whole suite without the race detector: faster on a laptop.
quick:
	$(GO) test ./...

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./canary ./metrics ./slo
	$(GO) run ./bench/accuracy
	$(GO) run ./bench/scale -duration 1m

fuzz:
	$(GO) test ./config -run '^$$' -fuzz FuzzParse -fuzztime 3m

quickstart:
	$(GO) run ./cmd/nines run -c examples/quickstart.yaml

clean:
	rm -rf bin dist

# The Lambda zips: the same binary as bootstrap for provided.al2023, one
# per architecture. LAMBDA_CONFIG, when set, is packed as nines.yaml.
LAMBDA_ARCHS ?= amd64 arm64
lambda:
	@for arch in $(LAMBDA_ARCHS); do \
	  set -e; dir=dist/lambda-$$arch; rm -rf $$dir; mkdir -p $$dir; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -tags lambda.norpc -trimpath -ldflags '$(LDFLAGS)' -o $$dir/bootstrap ./cmd/nines; \
	  if [ -n "$(LAMBDA_CONFIG)" ]; then cp "$(LAMBDA_CONFIG)" $$dir/nines.yaml; fi; \
	  $(GO) run ./internal/tools/zip -o dist/nines-lambda-$$arch.zip $$dir/bootstrap $$( [ -f $$dir/nines.yaml ] && echo $$dir/nines.yaml ); \
	  echo "dist/nines-lambda-$$arch.zip"; \
	done
