#!/usr/bin/env bash
# `make e2e`: the end-to-end tier. Starts its own local stack exactly as `make run` does
# (moto + cargo lambda watch + SQS poller), on its own ports and state directory so a stack
# you are using is left alone, runs `cargo test -p e2e --features stack` and the headless Chromium
# test in tests/browser/, and stops the stack.
#
# Environment: E2E_MOTO_PORT (5065), E2E_WATCH_PORT (9010), E2E_ARIBA_NETWORK_PORT (9012),
# E2E_FAULT_PROXY_PORT (9014), E2E_ADMIN_API_PORT (9016), E2E_KEEP=1 keeps the stack up.
set -euo pipefail
cd "$(dirname "$0")/.."

export LOCAL_DIR="$PWD/.local/e2e"
export MOTO_PORT="${E2E_MOTO_PORT:-5065}"
export WATCH_PORT="${E2E_WATCH_PORT:-9010}"
export ARIBA_NETWORK_PORT="${E2E_ARIBA_NETWORK_PORT:-9012}"
export ADMIN_API_PORT="${E2E_ADMIN_API_PORT:-9016}"
# The functions reach moto through the fault proxy, so the fault tier can cut them off.
export FAULT_PROXY_PORT="${E2E_FAULT_PROXY_PORT:-9014}"
# Failed invoice jobs come back after 2 s instead of the deployed 24 minutes, so the retry and
# dead-letter tests take seconds; the redrive count is the template's.
export SQS_VISIBILITY_TIMEOUT="${SQS_VISIBILITY_TIMEOUT:-2}"
# Edits to the tree while the tier runs do not restart the functions under test.
export WATCH_IGNORE_CHANGES=1
# The expiry check runs when the tests say so, not on a timer.
export SCHEDULE_EVERY_SECONDS=86400
# A buyer that hangs is given up on after 3 s (deployed: the InvoiceTimeoutSeconds parameter).
export LOCAL_PARAM_InvoiceTimeoutSeconds="${LOCAL_PARAM_InvoiceTimeoutSeconds:-3}"

stop() {
  if [ "${E2E_KEEP:-0}" != 1 ]; then
    scripts/stop-local.sh >/dev/null || true
  fi
}
trap stop EXIT
mkdir -p "$LOCAL_DIR"

scripts/run-local.sh > "$LOCAL_DIR.run.log" 2>&1 || {
  echo "e2e: the local stack did not come up; its output:" >&2
  cat "$LOCAL_DIR.run.log" >&2
  exit 1
}
echo "e2e: local stack up (API http://127.0.0.1:$WATCH_PORT, moto http://127.0.0.1:$MOTO_PORT)"
status=0
# The fault tier (tests named faults::) cuts the functions off from AWS services: it runs
# alone, after the others, one test at a time.
cargo test -p e2e --features stack --locked -- --test-threads 4 --skip faults:: "$@" || status=$?
if [ "$status" = 0 ]; then
  echo "e2e: fault tier (one test at a time)"
  cargo test -p e2e --features stack --locked --test stack -- --test-threads 1 faults:: "$@" || status=$?
fi
if [ "$status" = 0 ]; then
  echo "e2e: browser test (headless Chromium)"
  .venv/bin/python tests/browser/punchout_in_chromium.py || status=$?
fi
if [ "$status" = 0 ]; then
  # Every DynamoDB call the functions made was checked against their IAM policy in the
  # template (scripts/localstack/iam.py); a refusal a function swallowed fails the tier too.
  denied=$(curl -sf "http://127.0.0.1:$FAULT_PROXY_PORT/__iam" || echo unreadable)
  if [ "$denied" != "[]" ]; then
    echo "e2e: requests the template's IAM policies refuse were made: $denied" >&2
    status=1
  else
    echo "e2e: no DynamoDB request was refused by the template's IAM policies"
  fi
fi
if [ "$status" != 0 ]; then
  echo "e2e: failed; the functions' log is $LOCAL_DIR/watch.log (last lines below)" >&2
  tail -n 40 "$LOCAL_DIR/watch.log" >&2 || true
fi
exit "$status"
