#!/usr/bin/env bash
# `make stop`: stop what `make run` started (schedule, SQS poller, cargo lambda watch, moto).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .venv/bin/python ]; then
  exec .venv/bin/python scripts/local_stack.py down
fi
# Without the venv: the same pid files, each process in its own group.
for name in sqs-poller schedule admin-api watch moto; do
  f="${LOCAL_DIR:-.local}/$name.pid"
  [ -f "$f" ] || continue
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    echo "stopped $name (pid $pid)"
  fi
  rm -f "$f"
done
