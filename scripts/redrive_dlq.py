#!/usr/bin/env python3
"""Move the invoice dead-letter queue's messages back to the invoice queue.

    scripts/redrive_dlq.py                      the local stack's queues (.local/stack.env)
    scripts/redrive_dlq.py --dlq-url URL --queue-url URL [--max N] [--containing TEXT]
                                                a deployed stack's (stack outputs
                                                InvoiceDeadLetterQueueUrl and InvoiceQueueUrl),
                                                with the caller's AWS credentials

Safe at any time (see localstack/redrive.py): invoice-dispatch sends nothing for a charge that
was settled meanwhile. Fix what made the jobs fail first (the alarm and the charge's recorded
outcome say what), or they come back to the dead-letter queue after InvoiceMaxReceiveCount.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

_SCRIPTS = str(Path(__file__).resolve().parent)
if _SCRIPTS not in sys.path:
    sys.path.insert(0, _SCRIPTS)

import boto3  # noqa: E402

from localstack import config  # noqa: E402
from localstack.redrive import redrive  # noqa: E402


def local_env() -> dict[str, str]:
    path = config.LOCAL_DIR / "stack.env"
    if not path.exists():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dlq-url")
    parser.add_argument("--queue-url")
    parser.add_argument("--max", type=int, default=None, help="move at most this many")
    parser.add_argument("--containing", help="move only messages whose body contains this (e.g. a charge ID)")
    args = parser.parse_args()
    env = local_env()
    dlq_url = args.dlq_url or env.get("INVOICE_DLQ_URL")
    queue_url = args.queue_url or env.get("INVOICE_QUEUE_URL")
    if not dlq_url or not queue_url:
        parser.error("give --dlq-url and --queue-url (no local stack found)")
    kwargs = {}
    if not args.dlq_url and env.get("AWS_ENDPOINT_URL"):
        # The local stack's moto, with the stack's own (fake) credentials.
        kwargs = {
            "endpoint_url": env["AWS_ENDPOINT_URL"],
            "region_name": env.get("AWS_REGION", config.REGION),
            "aws_access_key_id": env.get("AWS_ACCESS_KEY_ID", "testing"),
            "aws_secret_access_key": env.get("AWS_SECRET_ACCESS_KEY", "testing"),
        }
    sqs = boto3.client("sqs", **kwargs)
    moved = redrive(sqs, dlq_url, queue_url, args.max, args.containing)
    print(f"moved {moved} message(s) from {dlq_url} to {queue_url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
