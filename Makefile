# The two commands a new machine needs: `make run` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: test lint unit bench fuzz tools inspect

## test: everything CI checks (installs its own tools first)
test: tools lint unit

tools:
	scripts/ensure-tools.sh rust xmllint

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

unit:
	$(CARGO) test --workspace --locked

## bench: criterion benchmarks of the cXML parser and writer
bench:
	$(CARGO) bench -p cxml --bench parse

## inspect FILE=path: what a cXML document says, as JSON
inspect:
	$(CARGO) run -q -p cxml --bin cxml -- inspect $(FILE)
