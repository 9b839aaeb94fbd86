# Supervisor API. `make run` starts the whole API locally; `make test`
# runs every test. SAM calls the build-<LogicalId> targets (BuildMethod:
# makefile) with ARTIFACTS_DIR set.

GO          ?= go
GOFLAGS_FN  := -tags lambda.norpc -trimpath -ldflags "-s -w"
LOCAL_DIR   := .aws-sam/local
RIE         := bin/aws-lambda-rie

# LogicalId of each function in template.yaml, and its main package.
FUNCTIONS := AuthorizerFunction JobsFunction HealthFunction \
	SuperTasksFunction DiagnosticsFunction
pkg_AuthorizerFunction  := ./functions/authorizer
pkg_JobsFunction        := ./functions/jobs
pkg_HealthFunction      := ./functions/health
pkg_SuperTasksFunction  := ./functions/supertasks
pkg_DiagnosticsFunction := ./functions/diagnostics

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: run test lint bench reset build-local rie clean \
	$(addprefix build-,$(FUNCTIONS)) $(addprefix local-,$(FUNCTIONS))

## SAM: arm64 Linux bootstraps, static, stripped.
$(addprefix build-,$(FUNCTIONS)): build-%:
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(GOFLAGS_FN) \
		-o $(ARTIFACTS_DIR)/bootstrap $(pkg_$*)

## Local: bootstraps for this machine, built the same way.
build-local: rie $(addprefix local-,$(FUNCTIONS))
$(addprefix local-,$(FUNCTIONS)): local-%:
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_FN) -o $(LOCAL_DIR)/$*/bootstrap $(pkg_$*)

rie: $(RIE)
$(RIE): go.mod
	$(GO) build -o $(RIE) github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie

run: build-local
	$(GO) build -o bin/supervisor-local ./infra/cmd/supervisor-local
	./bin/supervisor-local

test:
	$(GO) vet ./...
	$(GO) test -count=1 ./...

lint:
	test -z "$$(gofmt -l $$(git ls-files '*.go'))"
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

bench: build-local
	$(GO) test -run '^$$' -bench . -benchtime 200x ./...

reset:
	rm -rf .local

clean:
	rm -rf .aws-sam bin
