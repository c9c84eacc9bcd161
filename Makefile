# The two commands a new machine needs: `make run` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never
# A fresh CI machine compiles everything once: incremental caches would only cost disk (~1.5 GB).
ifdef CI
export CARGO_INCREMENTAL := 0
endif

.PHONY: test lint unit e2e demo bench bench-paired bench-lambda fuzz tools inspect python-tools validate stack-tests build run stop redrive-dlq

## test: everything CI checks (installs its own tools first)
test: tools validate stack-tests lint unit e2e

tools:
	scripts/ensure-tools.sh rust xmllint

python-tools:
	scripts/ensure-tools.sh python

# Offline: the SAM CLI and cfn-lint need a region name, never credentials.
SAM_ENV := AWS_DEFAULT_REGION=us-east-1 SAM_CLI_TELEMETRY=0

## validate: template.yaml through cfn-lint and `sam validate --lint`, and the SAM-transformed
## template through cfn-lint (circular dependencies only show after the transform)
validate: python-tools
	$(SAM_ENV) .venv/bin/cfn-lint template.yaml
	$(SAM_ENV) .venv/bin/sam validate --lint --template template.yaml
	$(SAM_ENV) .venv/bin/python scripts/validate_template.py template.yaml

## stack-tests: unit tests of the local stack (scripts/localstack/), offline: moto in process
stack-tests: python-tools
	scripts/ensure-tools.sh xmllint
	.venv/bin/python -m unittest discover -s scripts/localstack/tests -t scripts

## build: `sam build` (cargo lambda, arm64 release binaries into .aws-sam/); then `sam deploy --guided`
build:
	scripts/ensure-tools.sh rust lambda
	PATH="$(CURDIR)/.venv/bin:$$PATH" $(SAM_ENV) .venv/bin/sam build --template template.yaml

## run: the product on this machine without AWS (moto + cargo lambda watch); stop with `make stop`
run:
	scripts/run-local.sh

stop:
	scripts/stop-local.sh

## redrive-dlq: move the invoice dead-letter queue's messages back to the invoice queue (the
## local stack's; for a deployed stack: ARGS="--dlq-url URL --queue-url URL")
redrive-dlq: python-tools
	.venv/bin/python scripts/redrive_dlq.py $(ARGS)

## e2e: the end-to-end tier in tests/ against its own local stack (started and stopped here)
e2e: python-tools
	scripts/ensure-tools.sh browser xmllint
	scripts/e2e.sh

## demo: a whole procurement round trip against the stack `make run` started, printing each
## cXML exchange (the buyer's endpoint listens on 127.0.0.1:$${BUYER_PORT:-9100})
demo:
	$(CARGO) run -q -p e2e --bin demo

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

unit:
	$(CARGO) test --workspace --locked

## bench: criterion's absolute times of the cXML parser and writer, then the paired
## parse/floor ratios (benches/paired.rs); the last line is the verdict
bench:
	$(CARGO) bench -p cxml --bench parse
	$(CARGO) bench -p cxml --bench paired

## bench-paired: only the paired parse/floor ratios and the verdict (about 10 s)
bench-paired:
	$(CARGO) bench -p cxml --bench paired

## bench-lambda: the functions as template.yaml deploys them: arm64 zip sizes (cargo lambda, as
## sam build), then init, first and warm invocations and peak RSS of x86_64 release builds under an
## emulated Lambda Runtime API, AWS answered from a recording (scripts/bench_lambda.py, a few
## minutes with the builds; ARGS="--invocations N --no-build"); the last line is the verdict
bench-lambda:
	scripts/ensure-tools.sh rust lambda
	.venv/bin/python scripts/bench_lambda.py $(ARGS)

## inspect FILE=path: what a cXML document says, as JSON
inspect:
	$(CARGO) run -q -p cxml --bin cxml -- inspect $(FILE)
