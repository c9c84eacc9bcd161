#!/usr/bin/env bash
# `make run`: the whole product on this machine, without an AWS account.
#   moto (DynamoDB, SQS, SES) on 127.0.0.1:$MOTO_PORT, with the resources of template.yaml;
#   `cargo lambda watch` on 127.0.0.1:$WATCH_PORT serving the four functions with the API
#   Gateway routes (Cargo.toml [workspace.metadata.lambda.watch.router]);
#   an SQS poller standing in for the invoice queue -> invoice-dispatch event source, and the
#   hourly offer-expiry-check schedule;
#   the admin REST API stand-in on 127.0.0.1:$ADMIN_API_PORT (API Gateway's SigV4 check and
#   resource policy in front of the admin-api function; local keys per account in
#   $LOCAL_DIR/admin-credentials.json, also in the seed JSON).
# Every run starts from a fresh, freshly seeded stack (moto keeps its data in memory only).
# Stop everything with `make stop`.
#
# Environment: MOTO_PORT (5055), WATCH_PORT (9000), ARIBA_NETWORK_PORT (9002), ADMIN_API_PORT (9004),
# SQS_VISIBILITY_TIMEOUT (seconds before a
# failed invoice job is retried; default the queue's own), SCHEDULE_EVERY_SECONDS (3600).
set -euo pipefail
cd "$(dirname "$0")/.."

export MOTO_PORT="${MOTO_PORT:-5055}"
export WATCH_PORT="${WATCH_PORT:-9000}"
export ARIBA_NETWORK_PORT="${ARIBA_NETWORK_PORT:-9002}"
export ADMIN_API_PORT="${ADMIN_API_PORT:-9004}"
# Where the stack keeps pid files, logs and stack.env (the e2e tier runs its own in .local/e2e).
export LOCAL_DIR="${LOCAL_DIR:-$PWD/.local}"
SCHEDULE_EVERY_SECONDS="${SCHEDULE_EVERY_SECONDS:-3600}"
FUNCTIONS=(punchout-setup admin-api order-request invoice-dispatch offer-expiry-check)

scripts/ensure-tools.sh rust python
# .venv/bin has cargo-lambda (so `cargo lambda` works) and moto_server.
export PATH="$PWD/.venv/bin:$PATH"
PY=.venv/bin/python
STACK=(scripts/local_stack.py)

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A fresh stack each time: stop what an earlier `make run` left running.
"$PY" "${STACK[@]}" down
if port_taken "$WATCH_PORT"; then
  echo "run-local: port $WATCH_PORT is taken by another program; set WATCH_PORT" >&2
  exit 1
fi
if port_taken "$ADMIN_API_PORT"; then
  echo "run-local: port $ADMIN_API_PORT is taken by another program; set ADMIN_API_PORT" >&2
  exit 1
fi

"$PY" "${STACK[@]}" up
set -a
# shellcheck disable=SC1091
. "$LOCAL_DIR/stack.env"
set +a

# The binaries of the workspace, to build only what exists (the functions are being written).
mapfile -t BINS < <(cargo metadata --format-version 1 --no-deps 2>/dev/null | "$PY" -c '
import json, sys
for p in json.load(sys.stdin)["packages"]:
    for t in p["targets"]:
        if "bin" in t["kind"]:
            print(t["name"])')
has_bin() { local b; for b in "${BINS[@]}"; do [ "$b" = "$1" ] && return 0; done; return 1; }

# `cargo lambda watch` compiles a function at its first invocation with `cargo run --bin NAME`;
# build the same way now so the first request does not wait for the compiler.
for f in "${FUNCTIONS[@]}"; do
  if has_bin "$f"; then
    echo "== cargo build --bin $f"
    cargo build --bin "$f"
  else
    echo "run-local: WARNING: no binary '$f' in the workspace yet; its routes will answer 404" >&2
  fi
done

SEED_JSON="$LOCAL_DIR/seed.json"
rm -f "$SEED_JSON"
if has_bin seed-demo; then
  echo "== seeding demo data (cargo run -p e2e --bin seed-demo)"
  cargo run -q -p e2e --bin seed-demo > "$SEED_JSON"
  # The admin API's local endpoint and each local account's key, beside the demo data.
  "$PY" - "$SEED_JSON" "$LOCAL_DIR/admin-credentials.json" "$ADMIN_API_URL" <<'PYEOF'
import json, sys
seed_path, credentials_path, url = sys.argv[1:4]
seed = json.load(open(seed_path))
seed["admin_api"] = {"endpoint": url, "region": "us-east-1", "accounts": json.load(open(credentials_path))}
open(seed_path, "w").write(json.dumps(seed, indent=2) + "\n")
PYEOF
else
  echo "run-local: WARNING: the seed-demo binary (package e2e) does not exist yet: no demo data" >&2
fi

# The e2e tier's fault proxy (FAULT_PROXY_PORT): the functions reach moto through it, so a
# test can cut them off from one AWS service while the tests and the SQS poller still see
# moto. Without it the functions talk to moto directly.
FUNCTIONS_ENV="$LOCAL_DIR/stack.env"
if [ -n "${FAULT_PROXY_PORT:-}" ]; then
  "$PY" "${STACK[@]}" spawn fault-proxy -- "$PY" "${STACK[@]}" fault-proxy --port "$FAULT_PROXY_PORT"
  for _ in $(seq 1 50); do port_taken "$FAULT_PROXY_PORT" && break; sleep 0.2; done
  FUNCTIONS_ENV="$LOCAL_DIR/functions.env"
  sed "s#^AWS_ENDPOINT_URL=.*#AWS_ENDPOINT_URL=http://127.0.0.1:$FAULT_PROXY_PORT#" "$LOCAL_DIR/stack.env" > "$FUNCTIONS_ENV"
  echo "FAULT_PROXY_URL=http://127.0.0.1:$FAULT_PROXY_PORT" >> "$LOCAL_DIR/stack.env"
fi

WATCH_ARGS=()
# The e2e tier sets WATCH_IGNORE_CHANGES=1: an edit in the tree while tests run must not restart
# a function in the middle of a request. `make run` reloads on edits, as a developer expects.
[ "${WATCH_IGNORE_CHANGES:-0}" = 1 ] && WATCH_ARGS+=(--ignore-changes)
"$PY" "${STACK[@]}" spawn watch -- cargo lambda watch "${WATCH_ARGS[@]}" \
  --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" --env-file "$FUNCTIONS_ENV" --disable-cors
# API Gateway's admin REST API: SigV4 and the resource policy, then the admin-api function.
"$PY" "${STACK[@]}" spawn admin-api -- "$PY" "${STACK[@]}" admin-api --port "$ADMIN_API_PORT"
# The SAP Ariba Network stand-in: order confirmations go there (ARIBA_NETWORK_URL in stack.env).
"$PY" "${STACK[@]}" spawn ariba-network -- "$PY" "${STACK[@]}" ariba-network --port "$ARIBA_NETWORK_PORT"
POLLER_ARGS=()
[ -n "${SQS_VISIBILITY_TIMEOUT:-}" ] && POLLER_ARGS+=(--visibility-timeout "$SQS_VISIBILITY_TIMEOUT")
"$PY" "${STACK[@]}" spawn sqs-poller -- "$PY" "${STACK[@]}" sqs-poller "${POLLER_ARGS[@]}"

echo "== waiting for the API on http://127.0.0.1:$WATCH_PORT"
for _ in $(seq 1 600); do
  port_taken "$WATCH_PORT" && break
  sleep 1
done
# The first request starts punchout-setup (and compiles it if the build above was skipped).
status=$("$PY" - "http://127.0.0.1:$WATCH_PORT/punchout/start" <<'PYEOF' || true
import sys, urllib.error, urllib.request
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=900).status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception as e:
    print(0)
PYEOF
)
if [ -z "$status" ] || [ "$status" = "0" ]; then
  echo "run-local: the API does not answer; see $LOCAL_DIR/watch.log" >&2
  exit 1
fi
echo "   GET /punchout/start without a session answered HTTP $status"
if has_bin offer-expiry-check; then
  "$PY" "${STACK[@]}" spawn schedule -- "$PY" "${STACK[@]}" schedule --every "$SCHEDULE_EVERY_SECONDS"
fi

BASE="http://127.0.0.1:$WATCH_PORT"
cat <<EOF

Local stack is up (no AWS account involved; everything on 127.0.0.1).

  Punchout setup URL   $BASE/punchout/setup      (cXML PunchOutSetupRequest / ProfileRequest)
  Order URL            $BASE/order               (cXML OrderRequest)
  Catalog              $BASE/catalog             (via the StartPage of a punchout session)
  Coupa Open Buy       $BASE/openbuy             (POST /authentication/v1.0.0, /search/v1.0.0, ...)
  Admin API            $ADMIN_API_URL/admin/orgs/{orgId}/integration
                       (SigV4-signed, service execute-api, region us-east-1, with a local
                        account's key from $LOCAL_DIR/admin-credentials.json)
  Moto (AWS services)  $AWS_ENDPOINT_URL/moto-api/
  Sent emails          $PY scripts/local_stack.py emails
  Offer expiry check   $PY scripts/local_stack.py schedule     (runs every ${SCHEDULE_EVERY_SECONDS}s too)
  Ariba Network        http://127.0.0.1:$ARIBA_NETWORK_PORT/service/transaction/cxml.asp  (stand-in; what
                       arrives: $LOCAL_DIR/ariba-network.jsonl)
  Logs                 $LOCAL_DIR/{watch,sqs-poller,ariba-network,admin-api,moto}.log
  Environment          $LOCAL_DIR/stack.env
  Stop                 make stop
EOF
if [ -s "$SEED_JSON" ]; then
  echo
  echo "Test integration (from seed-demo, also in $SEED_JSON):"
  "$PY" -m json.tool "$SEED_JSON" || cat "$SEED_JSON"
fi
