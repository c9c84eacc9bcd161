"""Lambda's SQS event source mapping, locally: SQS events, partial batch responses, the deliveries ledger."""

from __future__ import annotations

import base64
import hashlib
import json
import signal
import socket
import time
import urllib.error
from typing import Any, Callable

from . import config
from .config import REGION, log
from .invoke import invoke
from .template import Stack


def sqs_record(msg: dict, queue_arn: str) -> dict:
    """One record of a Lambda SQS event, as the event source mapping builds it."""
    attributes = dict(msg.get("Attributes") or {})
    attributes = {
        k: attributes[k]
        for k in (
            "ApproximateReceiveCount", "SentTimestamp", "SenderId",
            "ApproximateFirstReceiveTimestamp", "SequenceNumber", "MessageGroupId",
            "MessageDeduplicationId", "AWSTraceHeader", "DeadLetterQueueSourceArn",
        )
        if k in attributes
    }
    message_attributes = {}
    for key, a in (msg.get("MessageAttributes") or {}).items():
        binary = a.get("BinaryValue")
        message_attributes[key] = {
            "stringValue": a.get("StringValue"),
            "binaryValue": base64.b64encode(binary).decode() if binary is not None else None,
            "stringListValues": a.get("StringListValues", []),
            "binaryListValues": [base64.b64encode(b).decode() for b in a.get("BinaryListValues", [])],
            "dataType": a.get("DataType"),
        }
        message_attributes[key] = {k: v for k, v in message_attributes[key].items() if v is not None}
    record = {
        "messageId": msg["MessageId"],
        "receiptHandle": msg["ReceiptHandle"],
        "body": msg["Body"],
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": msg.get("MD5OfBody") or hashlib.md5(msg["Body"].encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }
    if msg.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = msg["MD5OfMessageAttributes"]
    return record


def failed_ids(status: int, response: Any, batch_ids: list[str], partial: bool) -> set[str]:
    """Which messages go back to the queue, by Lambda's rules for SQS batches."""
    if status != 200 or (isinstance(response, dict) and "errorType" in response):
        return set(batch_ids)  # the invocation failed: the whole batch is retried
    if not partial:
        return set()
    # AWS Lambda developer guide, "Handling errors for an SQS event source" (partial batch
    # responses): an empty or null response is a complete success; an invalid JSON response (here
    # anything but an object: invoke() hands back undecodable bodies as text) a complete failure.
    if response is not None and not isinstance(response, dict):
        return set(batch_ids)
    failures = response.get("batchItemFailures") if isinstance(response, dict) else None
    if not failures:
        return set()
    ids = set()
    for item in failures:
        ident = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not ident or ident not in batch_ids:
            return set(batch_ids)  # an invalid response fails the whole batch
        ids.add(ident)
    return ids


def sqs_sources(stack: Stack) -> list[dict]:
    sources = []
    for lid, fn in stack.functions().items():
        for ev in (fn["props"].get("Events") or {}).values():
            if ev.get("Type") != "SQS":
                continue
            p = ev.get("Properties") or {}
            queue = p["Queue"]
            if isinstance(queue, dict) and "Fn::GetAtt" in queue:
                qid = queue["Fn::GetAtt"][0]
            else:
                raise SystemExit(f"{lid}: SQS event Queue must be !GetAtt <Queue>.Arn")
            timeout = fn["props"].get("Timeout") or ((stack.t.get("Globals") or {}).get("Function") or {}).get("Timeout", 3)
            sources.append(
                {
                    "function": fn["name"],
                    "queue": qid,
                    "batch_size": int(p.get("BatchSize", 10)),
                    "partial": "ReportBatchItemFailures" in (p.get("FunctionResponseTypes") or []),
                    "timeout": int(timeout),
                }
            )
    return sources


def record_deliveries(source: dict, messages: list[dict], failed: set[str]) -> None:
    lines = []
    for m in messages:
        lines.append(json.dumps({
            "queue": source["queue"],
            "function": source["function"],
            "message_id": m["MessageId"],
            "receive_count": int((m.get("Attributes") or {}).get("ApproximateReceiveCount", "1")),
            "body": m["Body"],
            "outcome": "returned" if m["MessageId"] in failed else "deleted",
        }) + "\n")
    # One append per batch: readers see whole lines only.
    with open(config.DELIVERIES, "a", encoding="utf-8") as f:
        f.write("".join(lines))


def locate(stack: Stack, sqs, sources: list[dict]) -> None:
    """Adds each source's queue URL (asked of SQS) and ARN."""
    for s in sources:
        q = stack.ensure(s["queue"])
        s["url"] = sqs.get_queue_url(QueueName=q["QueueName"])["QueueUrl"]
        s["arn"] = q["Arn"]
        log(f"polling {q['QueueName']} -> {s['function']} (batch {s['batch_size']}, "
            f"partial failures {'on' if s['partial'] else 'off'})")


def poll_once(
    sqs,
    sources: list[dict],
    wait: int,
    visibility_timeout: int | None,
    invoke_timeout: float,
    invoker: Callable[[str, dict, float], tuple[int, Any]] = invoke,
) -> bool:
    """One receive from each source's queue, and one invocation per batch; True if all were empty."""
    idle = True
    for s in sources:
        receive = {
            "QueueUrl": s["url"],
            "MaxNumberOfMessages": min(s["batch_size"], 10),
            "WaitTimeSeconds": wait,
            "AttributeNames": ["All"],
            "MessageAttributeNames": ["All"],
        }
        if visibility_timeout is not None:
            receive["VisibilityTimeout"] = visibility_timeout
        try:
            messages = sqs.receive_message(**receive).get("Messages", [])
        except Exception as e:  # moto restarting, connection refused, ...
            log(f"receive from {s['url']} failed: {e}")
            time.sleep(2)
            continue
        if not messages:
            continue
        idle = False
        event = {"Records": [sqs_record(m, s["arn"]) for m in messages]}
        ids = [m["MessageId"] for m in messages]
        try:
            status, response = invoker(s["function"], event, invoke_timeout)
        except (urllib.error.URLError, ConnectionError, socket.timeout) as e:
            log(f"invoke {s['function']} failed ({e}); the messages return after their visibility timeout")
            time.sleep(2)
            continue
        failed = failed_ids(status, response, ids, s["partial"])
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start:start + 10]
            sqs.delete_message_batch(
                QueueUrl=s["url"],
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        record_deliveries(s, messages, failed)
        detail = "" if status == 200 else f" (status {status}: {json.dumps(response)[:300]})"
        log(f"{s['function']}: {len(messages)} message(s), {len(done)} done, {len(failed)} back to the queue{detail}")
    return idle


def run(stack: Stack, once: bool, wait: int, visibility_timeout: int | None, compile_allowance: int) -> int:
    """The poller's loop, until SIGTERM / SIGINT (or after one round with once)."""
    sources = sqs_sources(stack)
    if not sources:
        log("the template has no SQS event sources")
        return 0
    sqs = stack.backend.client("sqs")
    locate(stack, sqs, sources)
    # The first invocation compiles the function: allow for that on top of its timeout.
    invoke_timeout = max(s["timeout"] for s in sources) + compile_allowance
    wait = 1 if len(sources) > 1 else wait
    running = True

    def halt(*_):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, halt)
    signal.signal(signal.SIGINT, halt)
    while running:
        idle = poll_once(sqs, sources, wait, visibility_timeout, invoke_timeout)
        if once:
            break
        if idle and wait < 1:
            time.sleep(1)
    return 0
