"""Moving the invoice dead-letter queue's messages back to the invoice queue (scripts/redrive_dlq.py).

Safe to run at any time: an invoice or confirmation message carries only the ID of a stored
charge or confirmation, and invoice-dispatch works from what is stored, so a message whose
charge was invoiced (or re-queued by the scheduled run) meanwhile is acknowledged without
sending anything. In AWS the console's "Start DLQ redrive" (SQS StartMessageMoveTask) does the
same; moto does not serve that API, and this works against both.
"""

from __future__ import annotations

from typing import Any

# A message being moved is hidden this long: if the run dies between sending the copy and
# deleting the original, the original comes back and is moved again (dispatch is idempotent).
MOVE_VISIBILITY_SECONDS = 60


def redrive(sqs: Any, dlq_url: str, queue_url: str, limit: int | None = None, containing: str | None = None) -> int:
    """Moves up to `limit` messages (all when None) from `dlq_url` to `queue_url`, only those
    whose body contains `containing` when given, each sent before it is deleted, so none is
    lost; returns how many were moved. Messages passed over are made visible again at the end."""
    moved = 0
    passed_over: list[str] = []
    while limit is None or moved < limit:
        batch = min(10, limit - moved) if limit is not None else 10
        out = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=batch,
            WaitTimeSeconds=1,
            VisibilityTimeout=MOVE_VISIBILITY_SECONDS,
            MessageAttributeNames=["All"],
        )
        messages = out.get("Messages", [])
        if not messages:
            break
        for message in messages:
            if containing is not None and containing not in message["Body"]:
                passed_over.append(message["ReceiptHandle"])
                continue
            send: dict[str, Any] = {"QueueUrl": queue_url, "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                send["MessageAttributes"] = message["MessageAttributes"]
            sqs.send_message(**send)
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    for handle in passed_over:
        sqs.change_message_visibility(QueueUrl=dlq_url, ReceiptHandle=handle, VisibilityTimeout=0)
    return moved
