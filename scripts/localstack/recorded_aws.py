"""AWS answered from a recording, for `make bench-lambda`: a small HTTP server on 127.0.0.1 that
speaks the JSON protocols the functions use (DynamoDB `DynamoDB_20120810.*`, Secrets Manager
`secretsmanager.GetSecretValue`, SQS `AmazonSQS.SendMessage`), SES v2's REST
`POST /v2/email/outbound-emails`, and a buyer's invoice URL (`POST /invoices`, a cXML 200).

The table is a recording (scripts/localstack/recording/demo-table.json): the items the demo seed
(`seed-demo`) and one production order wrote, captured by this server in capture mode
(`scripts/bench_lambda.py --capture`). Reads are answered from it (GetItem, BatchGetItem, Query
with the key conditions the adapter writes); writes are acknowledged and not applied, so every
invocation of a flow finds the same table and does the same work. The recording's times are
moved by (now - captured_at) when it is loaded, so quotes and sessions stay as fresh as when it
was made. Anything the server does not know is answered 400 and kept in `misses`: the bench
fails on it (a figure of an error path is not the figure of the flow).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler
from typing import Any

from .runtime_api import QuietServer, read_body

Item = dict[str, Any]

# RFC 3339 times as the product writes them (cxml::format_timestamp) and as seed data has them.
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
# Unix times in ms / ns (claims, versions) between 2020 and 2100.
_MS = (1_577_836_800_000, 4_102_444_800_000)
_NS = (_MS[0] * 1_000_000, _MS[1] * 1_000_000)

INVOICE_ANSWER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<cXML payloadID="bench@buyer.example" timestamp="2026-01-01T00:00:00+00:00">'
    '<Response><Status code="200" text="OK"/></Response></cXML>\n'
)


def shift_time(text: str, delta: dt.timedelta) -> str:
    """Every RFC 3339 time in `text` moved by `delta` (whole seconds), in the same shape: its
    fraction and its offset are kept as written."""
    seconds = dt.timedelta(seconds=int(delta.total_seconds()))

    def moved(m: re.Match) -> str:
        raw = m.group(0)
        head, zone = raw[:19], raw[19:]
        fraction = ""
        if zone.startswith("."):
            digits = re.match(r"\.\d+", zone).group(0)
            fraction, zone = digits, zone[len(digits):]
        offset = dt.timezone.utc if zone == "Z" else dt.datetime.strptime(zone.replace(":", ""), "%z").tzinfo
        parsed = dt.datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=offset)
        return (parsed + seconds).strftime("%Y-%m-%dT%H:%M:%S") + fraction + zone

    return _TIME.sub(moved, text)


def _shift_value(value: Any, delta: dt.timedelta) -> Any:
    """A DynamoDB attribute value with its times moved (strings, and Unix ms/ns numbers)."""
    if isinstance(value, dict):
        if set(value) == {"S"}:
            text = value["S"]
            if "T" in text and ":" in text:
                return {"S": shift_time(text, delta)}
            return value
        if set(value) == {"N"}:
            try:
                n = int(value["N"])
            except ValueError:
                return value
            if _MS[0] <= n <= _MS[1]:
                return {"N": str(n + int(delta.total_seconds() * 1000))}
            if _NS[0] <= n <= _NS[1]:
                return {"N": str(n + int(delta.total_seconds() * 1_000_000_000))}
            return value
        return {k: _shift_value(v, delta) for k, v in value.items()}
    if isinstance(value, list):
        return [_shift_value(v, delta) for v in value]
    return value


def load_recording(recording: dict, now: dt.datetime | None = None, base_url: str | None = None) -> dict:
    """The recording with its times moved to `now` and the capture server's address (in buyer
    URLs) replaced by `base_url`."""
    now = now or dt.datetime.now(dt.timezone.utc)
    captured = dt.datetime.fromisoformat(recording["captured_at"].replace("Z", "+00:00"))
    delta = now - captured
    text = json.dumps(recording["items"])
    if base_url and recording.get("base_url"):
        text = text.replace(recording["base_url"], base_url)
    items = [_shift_value(i, delta) for i in json.loads(text)]
    return {"items": items, "secrets": dict(recording.get("secrets", {}))}


def _text(value: Any) -> str:
    if not isinstance(value, dict):
        return ""
    return str(value.get("S", value.get("N", "")))


def _compare(a: str, b: str) -> int:
    return (a > b) - (a < b)


class Table:
    """Items by (PK, SK), with the two indexes' keys; reads only."""

    INDEXES = {None: ("PK", "SK"), "GSI1": ("GSI1PK", "GSI1SK"), "GSI2": ("GSI2PK", "GSI2SK")}

    def __init__(self, items: list[Item]):
        self.items: dict[tuple[str, str], Item] = {}
        for item in items:
            self.put(item)

    def put(self, item: Item) -> None:
        self.items[(_text(item.get("PK")), _text(item.get("SK")))] = item

    def get(self, key: Item) -> Item | None:
        return self.items.get((_text(key.get("PK")), _text(key.get("SK"))))

    def query(self, body: dict) -> dict:
        """The key conditions the adapter writes: `H = :v`, optionally `AND R <op> :v` (op one
        of = < <= > >=) or `AND begins_with(R, :v)`; Limit, ExclusiveStartKey,
        ScanIndexForward. Filters and projections are not applied."""
        names = body.get("ExpressionAttributeNames", {})
        values = body.get("ExpressionAttributeValues", {})
        hash_attr, range_attr = self.INDEXES.get(body.get("IndexName"), (None, None))
        if hash_attr is None:
            raise KeyError(f"unknown index {body.get('IndexName')}")
        parts = [p.strip() for p in re.split(r"\s+AND\s+", body["KeyConditionExpression"].strip(), flags=re.I)]
        conditions = []
        for part in parts:
            m = re.fullmatch(r"begins_with\(\s*(\S+?)\s*,\s*(:\w+)\s*\)", part)
            if m:
                conditions.append((names.get(m.group(1), m.group(1)), "begins", _text(values[m.group(2)])))
                continue
            m = re.fullmatch(r"(\S+)\s*(=|<=|>=|<|>)\s*(:\w+)", part)
            if not m:
                raise KeyError(f"key condition not understood: {part}")
            conditions.append((names.get(m.group(1), m.group(1)), m.group(2), _text(values[m.group(3)])))
        if not any(a == hash_attr and op == "=" for a, op, _ in conditions):
            raise KeyError(f"no {hash_attr} equality in {body['KeyConditionExpression']}")

        def holds(item: Item) -> bool:
            for attr, op, want in conditions:
                if attr not in item:
                    return False
                have = _text(item[attr])
                c = _compare(have, want)
                ok = {
                    "=": c == 0, "<": c < 0, "<=": c <= 0, ">": c > 0, ">=": c >= 0,
                    "begins": have.startswith(want),
                }[op]
                if not ok:
                    return False
            return True

        found = [i for i in self.items.values() if holds(i)]
        found.sort(key=lambda i: (_text(i.get(range_attr)), _text(i["PK"]), _text(i["SK"])),
                   reverse=body.get("ScanIndexForward") is False)
        start = body.get("ExclusiveStartKey")
        if start:
            key = (_text(start.get("PK")), _text(start.get("SK")))
            for n, item in enumerate(found):
                if (_text(item["PK"]), _text(item["SK"])) == key:
                    found = found[n + 1:]
                    break
        out: dict[str, Any] = {}
        limit = body.get("Limit")
        if limit and len(found) > limit:
            found = found[:limit]
            last = found[-1]
            out["LastEvaluatedKey"] = {a: last[a] for a in {"PK", "SK", hash_attr, range_attr} if a in last}
        out["Items"] = found
        out["Count"] = out["ScannedCount"] = len(found)
        return out


class RecordedAws:
    """The server. `capture=True`: PutItem and TransactWriteItems' Puts are applied and
    PutSecretValue/CreateSecret kept, to make a recording; otherwise writes are acknowledged
    only. `calls` counts requests by operation (reset with `take_calls`)."""

    def __init__(self, items: list[Item] | None = None, secrets: dict[str, str] | None = None,
                 capture: bool = False):
        self.table = Table(items or [])
        self.secrets = dict(secrets or {})
        self.capture = capture
        self.lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.misses: list[str] = []
        self.invoices_received = 0
        # Time spent answering (from a request's headers read to its answer written), since
        # the last take_calls: the part of a figure that is this server's, not the function's.
        self.busy_ns = 0
        self.server = QuietServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> "RecordedAws":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def load(self, recording: dict) -> None:
        """Answers from `recording` (as load_recording returns it) from now on."""
        with self.lock:
            self.table = Table(recording["items"])
            self.secrets = dict(recording["secrets"])

    def take_calls(self) -> Counter[str]:
        """The requests since the last call, by operation (and busy_ns back to 0)."""
        with self.lock:
            calls, self.calls = self.calls, Counter()
            self.busy_ns = 0
            return calls

    def snapshot(self, base_url: str) -> dict:
        """This server's table and secrets as a recording."""
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        items = sorted(self.table.items.values(), key=lambda i: (_text(i["PK"]), _text(i["SK"])))
        return {"captured_at": now.isoformat().replace("+00:00", "Z"), "base_url": base_url,
                "secrets": self.secrets, "items": items}

    # ---------------------------------------------------------------- answers

    def answer(self, method: str, path: str, target: str, body: bytes) -> tuple[int, str, bytes]:
        """(status, content type, body) for one request."""
        amz = "application/x-amz-json-1.0"
        if method == "POST" and path.startswith("/invoices"):
            with self.lock:
                self.invoices_received += 1
                self.calls["buyer:InvoiceDetailRequest"] += 1
            return 200, "text/xml; charset=utf-8", INVOICE_ANSWER.encode()
        if method == "POST" and path == "/v2/email/outbound-emails":
            with self.lock:
                self.calls["ses:SendEmail"] += 1
            return 200, "application/json", json.dumps({"MessageId": str(uuid.uuid4())}).encode()
        service, _, operation = target.partition(".")
        try:
            doc = json.loads(body or b"{}")
        except json.JSONDecodeError:
            doc = {}
        with self.lock:
            short = {"DynamoDB_20120810": "dynamodb", "AmazonSQS": "sqs"}.get(service, service)
            self.calls[f"{short}:{operation}"] += 1
            try:
                if service == "DynamoDB_20120810":
                    out = self._dynamodb(operation, doc)
                    return 200, "application/x-amz-json-1.0", json.dumps(out).encode()
                if service == "secretsmanager":
                    out = self._secrets(operation, doc)
                    return 200, "application/x-amz-json-1.1", json.dumps(out).encode()
                if service == "AmazonSQS" and operation == "SendMessage":
                    md5 = hashlib.md5(doc.get("MessageBody", "").encode()).hexdigest()
                    return 200, amz, json.dumps({"MessageId": str(uuid.uuid4()), "MD5OfMessageBody": md5}).encode()
                raise KeyError(f"not recorded: {method} {path} {target}")
            except KeyError as e:
                self.misses.append(f"{target or path}: {e.args[0] if e.args else e}")
                err = {"__type": "com.amazon.coral.service#UnrecognizedClientException",
                       "message": f"bench recording has no answer: {e}"}
                return 400, amz, json.dumps(err).encode()

    def _dynamodb(self, operation: str, doc: dict) -> dict:
        if operation == "GetItem":
            item = self.table.get(doc["Key"])
            return {"Item": item} if item else {}
        if operation == "BatchGetItem":
            responses = {}
            for table, request in doc["RequestItems"].items():
                responses[table] = [i for i in (self.table.get(k) for k in request["Keys"]) if i]
            return {"Responses": responses, "UnprocessedKeys": {}}
        if operation == "Query":
            return self.table.query(doc)
        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            if self.capture and operation == "PutItem":
                self.table.put(doc["Item"])
            if operation == "UpdateItem" and doc.get("ReturnValues") in ("UPDATED_NEW", "ALL_NEW"):
                return {"Attributes": {}}
            return {}
        if operation == "TransactWriteItems":
            if self.capture:
                for step in doc["TransactItems"]:
                    if "Put" in step:
                        self.table.put(step["Put"]["Item"])
            return {}
        raise KeyError(f"DynamoDB {operation}")

    def _secrets(self, operation: str, doc: dict) -> dict:
        secret_id = doc.get("SecretId", doc.get("Name", ""))
        if operation == "GetSecretValue":
            if secret_id not in self.secrets:
                raise KeyError(f"secret {secret_id}")
            return {"ARN": secret_id, "Name": secret_id, "SecretString": self.secrets[secret_id],
                    "VersionId": "bench", "VersionStages": ["AWSCURRENT"],
                    "CreatedDate": time.time()}
        if self.capture and operation in ("PutSecretValue", "CreateSecret"):
            self.secrets[secret_id] = doc.get("SecretString", "")
            return {"ARN": secret_id, "Name": secret_id, "VersionId": "bench"}
        raise KeyError(f"Secrets Manager {operation}")

    def _handler(self):
        aws = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: without this, Nagle holds the body
            # back for the client's delayed ACK (40 ms).
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                started = time.perf_counter_ns()
                body = read_body(self)
                status, ctype, out = aws.answer(self.command, self.path.split("?")[0],
                                                self.headers.get("x-amz-target", ""), body)
                self.send_response(status)
                self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)
                with aws.lock:
                    aws.busy_ns += time.perf_counter_ns() - started

            do_POST = do_GET = do_PUT = _serve

            def log_message(self, *args) -> None:
                pass

        return Handler
