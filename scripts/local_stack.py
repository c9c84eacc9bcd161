#!/usr/bin/env python3
"""The local stack: the AWS resources of template.yaml on a moto server, and the event sources
that API Gateway and Lambda would provide, for running the product without an AWS account.

    local_stack.py up                 start moto on 127.0.0.1:$MOTO_PORT, create the table, queues
                                      and email identity as template.yaml defines them, and write
                                      .local/stack.env (the functions' environment)
    local_stack.py down               stop everything started here (see `spawn`) and moto
    local_stack.py status             what runs, on which ports
    local_stack.py spawn NAME -- CMD  start CMD in the background in its own session,
                                      pid in .local/NAME.pid, output in .local/NAME.log
    local_stack.py sqs-poller         Lambda's SQS event source mapping: long-poll the queues of
                                      the template's SQS events, invoke the function through
                                      `cargo lambda watch`, delete what it did not report failed
    local_stack.py schedule           invoke the template's scheduled functions with an
                                      EventBridge "Scheduled Event", once or --every N seconds
    local_stack.py emails             the emails moto's SES has accepted

Everything listens on 127.0.0.1 only. Environment: MOTO_PORT (5055), WATCH_PORT (9000),
STACK_NAME (procurement-local), LOCAL_DIR (.local), LOCAL_PARAM_<Name> to override a template
parameter (e.g. LOCAL_PARAM_SenderEmail=me@example.com).

The schema is read from template.yaml: there is no second copy of it here.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
LOCAL_DIR = Path(os.environ.get("LOCAL_DIR", ROOT / ".local"))
HOST = "127.0.0.1"
MOTO_PORT = int(os.environ.get("MOTO_PORT", "5055"))
WATCH_PORT = int(os.environ.get("WATCH_PORT", "9000"))
STACK_NAME = os.environ.get("STACK_NAME", "procurement-local")
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
ENDPOINT = f"http://{HOST}:{MOTO_PORT}"
WATCH_URL = f"http://{HOST}:{WATCH_PORT}"
# One JSON line per message handed to a function, written once its outcome is settled (deleted,
# or back to the queue). Tests wait on it: "the message carrying charge X was deleted" is the
# condition after which no further delivery of it can happen.
DELIVERIES = LOCAL_DIR / "sqs-deliveries.jsonl"

# Parameters without a usable default, or whose local value differs from the deployed one.
LOCAL_PARAMETERS = {
    "SenderEmail": "no-reply@marketplace.test",
    # The functions build StartPage / catalog / order URLs from this: `cargo lambda watch`.
    "PublicBaseUrl": WATCH_URL,
    "LogLevel": "info",
    # Local only, public: invoices to the loopback stand-in buyer are signed with secrets
    # derived from it.
    "InvoiceSecretKey": "local-invoice-secret-key-not-for-production-0001",
}

# Processes `down` stops, in this order (consumers first, moto last).
MANAGED = ["sqs-poller", "schedule", "watch", "moto"]


def log(msg: str) -> None:
    print(f"[local-stack] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- template


class CfnLoader(yaml.SafeLoader):
    """A YAML loader that reads CloudFormation's short-form tags (!Ref, !Sub, !GetAtt, ...)."""


def _cfn_tag(loader: CfnLoader, tag_suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_template(path: Path = TEMPLATE) -> dict:
    with open(path) as f:
        return yaml.load(f, Loader=CfnLoader)


class NoValue:
    """AWS::NoValue: the property is left out."""


class Stack:
    """Resolves template expressions against local values and creates resources on moto."""

    def __init__(self, template: dict, create: bool = True):
        self.t = template
        self.resources: dict = template.get("Resources", {})
        self.create = create
        self.params = self._parameters()
        self.physical: dict[str, dict[str, Any]] = {}  # logical id -> {"Ref": .., attrs..}
        self._conditions: dict[str, bool] = {}
        self._clients: dict[str, Any] = {}

    # -- values
    def _parameters(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, spec in (self.t.get("Parameters") or {}).items():
            value = os.environ.get(f"LOCAL_PARAM_{name}")
            if value is None:
                value = LOCAL_PARAMETERS.get(name, spec.get("Default"))
            if value is None:
                raise SystemExit(
                    f"template parameter {name} has no default: set LOCAL_PARAM_{name}"
                )
            values[name] = str(value)
        return values

    def pseudo(self, name: str) -> Any:
        return {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::StackName": STACK_NAME,
            "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{STACK_NAME}/local",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NoValue,
        }[name]

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = bool(self.resolve(self.t["Conditions"][name]))
        return self._conditions[name]

    def ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.params:
            return self.params[name]
        return self.ensure(name)["Ref"]

    def get_att(self, name: str, attr: str) -> Any:
        phys = self.ensure(name)
        if attr not in phys:
            raise SystemExit(f"{name}.{attr}: attribute not known locally")
        return phys[attr]

    def resolve(self, v: Any) -> Any:
        if isinstance(v, list):
            out = [self.resolve(x) for x in v]
            return [x for x in out if x is not NoValue]
        if not isinstance(v, dict):
            return v
        if len(v) == 1:
            (key, arg), = v.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::GetAtt":
                name, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(name, attr)
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::If":
                cond, yes, no = arg
                return self.resolve(yes if self.condition(cond) else no)
            if key == "Fn::Equals":
                a, b = (self.resolve(x) for x in arg)
                return str(a) == str(b)
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(x) for x in arg)
            if key == "Fn::Or":
                return any(self.resolve(x) for x in arg)
            if key == "Fn::Join":
                sep, items = arg
                return str(sep).join(str(x) for x in self.resolve(items))
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                sep, s = arg
                return str(self.resolve(s)).split(sep)
            if key.startswith("Fn::"):
                raise SystemExit(f"{key} is not supported by local_stack.py")
        out = {k: self.resolve(x) for k, x in v.items()}
        return {k: x for k, x in out.items() if x is not NoValue}

    def _sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, variables = arg[0], {k: self.resolve(x) for k, x in arg[1].items()}
        else:
            text, variables = arg, {}

        def repl(m: re.Match) -> str:
            expr = m.group(1)
            if expr.startswith("!"):
                return "${" + expr[1:] + "}"
            if expr in variables:
                return str(variables[expr])
            if "." in expr and not expr.startswith("AWS::"):
                name, attr = expr.split(".", 1)
                return str(self.get_att(name, attr))
            return str(self.ref(expr))

        return re.sub(r"\$\{([^}]+)\}", repl, text)

    # -- resources
    def of_type(self, rtype: str) -> list[str]:
        return [k for k, r in self.resources.items() if r.get("Type") == rtype]

    def props(self, logical_id: str) -> dict:
        return self.resolve(self.resources[logical_id].get("Properties") or {})

    def client(self, service: str):
        if service not in self._clients:
            import boto3

            self._clients[service] = boto3.client(
                service,
                endpoint_url=ENDPOINT,
                region_name=REGION,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
        return self._clients[service]

    def ensure(self, logical_id: str) -> dict[str, Any]:
        if logical_id in self.physical:
            return self.physical[logical_id]
        res = self.resources.get(logical_id)
        if res is None:
            raise SystemExit(f"template has no resource {logical_id}")
        cond = res.get("Condition")
        if cond and not self.condition(cond):
            raise SystemExit(f"{logical_id} is disabled by its condition {cond}")
        creator = {
            "AWS::DynamoDB::Table": self._table,
            "AWS::SQS::Queue": self._queue,
            "AWS::SES::EmailIdentity": self._email_identity,
        }.get(res["Type"])
        if creator is None:
            raise SystemExit(f"{logical_id} ({res['Type']}) has no local equivalent")
        self.physical[logical_id] = creator(logical_id, self.props(logical_id))
        return self.physical[logical_id]

    def _name(self, logical_id: str, given: str | None) -> str:
        return given or f"{STACK_NAME}-{logical_id}"

    def _table(self, logical_id: str, p: dict) -> dict:
        name = self._name(logical_id, p.get("TableName"))
        arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}"
        if self.create:
            ddb = self.client("dynamodb")
            if name in ddb.list_tables()["TableNames"]:
                log(f"table {name} exists")
            else:
                billing = p.get("BillingMode", "PROVISIONED")
                args: dict[str, Any] = {
                    "TableName": name,
                    "AttributeDefinitions": p["AttributeDefinitions"],
                    "KeySchema": p["KeySchema"],
                    "BillingMode": billing,
                }
                if billing == "PROVISIONED":
                    args["ProvisionedThroughput"] = p["ProvisionedThroughput"]
                for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
                    if p.get(key):
                        args[key] = [
                            {k: ix[k] for k in ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput") if k in ix}
                            for ix in p[key]
                        ]
                if "StreamSpecification" in p:
                    args["StreamSpecification"] = {
                        "StreamEnabled": True,
                        "StreamViewType": p["StreamSpecification"]["StreamViewType"],
                    }
                sse = p.get("SSESpecification")
                if sse:
                    args["SSESpecification"] = {
                        "Enabled": bool(sse.get("SSEEnabled")),
                        **({"SSEType": sse["SSEType"]} if "SSEType" in sse else {}),
                    }
                ddb.create_table(**args)
                ddb.get_waiter("table_exists").wait(TableName=name)
                ttl = p.get("TimeToLiveSpecification")
                if ttl and ttl.get("Enabled"):
                    ddb.update_time_to_live(
                        TableName=name,
                        TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
                    )
                pitr = p.get("PointInTimeRecoverySpecification")
                if pitr and pitr.get("PointInTimeRecoveryEnabled"):
                    ddb.update_continuous_backups(
                        TableName=name,
                        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
                    )
                indexes = ", ".join(ix["IndexName"] for ix in args.get("GlobalSecondaryIndexes", []))
                log(f"table {name} created (GSIs: {indexes or 'none'}; TTL: {ttl and ttl.get('AttributeName')})")
        return {"Ref": name, "Arn": arn, "StreamArn": f"{arn}/stream/local"}

    # CloudFormation queue properties that are SQS attributes of the same name.
    QUEUE_ATTRIBUTES = [
        "ContentBasedDeduplication", "DeduplicationScope", "DelaySeconds", "FifoQueue",
        "FifoThroughputLimit", "KmsDataKeyReusePeriodSeconds", "KmsMasterKeyId",
        "MaximumMessageSize", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds",
        "SqsManagedSseEnabled", "VisibilityTimeout",
    ]

    def _queue(self, logical_id: str, p: dict) -> dict:
        name = self._name(logical_id, p.get("QueueName"))
        if p.get("FifoQueue") and not name.endswith(".fifo"):
            name += ".fifo"
        arn = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}"
        attrs = {}
        for key in self.QUEUE_ATTRIBUTES:
            if key in p:
                value = p[key]
                attrs[key] = str(value).lower() if isinstance(value, bool) else str(value)
        for key in ("RedrivePolicy", "RedriveAllowPolicy"):
            if key in p:
                policy = dict(p[key])
                if "maxReceiveCount" in policy:
                    policy["maxReceiveCount"] = int(policy["maxReceiveCount"])
                attrs[key] = json.dumps(policy)
        url = f"{ENDPOINT}/{ACCOUNT_ID}/{name}"
        if self.create:
            url = self.client("sqs").create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
            extra = ""
            if "RedrivePolicy" in attrs:
                extra = f" (redrive after {json.loads(attrs['RedrivePolicy'])['maxReceiveCount']} receives)"
            log(f"queue {name} ready{extra}")
        return {"Ref": url, "Arn": arn, "QueueName": name, "QueueUrl": url}

    def _email_identity(self, logical_id: str, p: dict) -> dict:
        identity = p["EmailIdentity"]
        if self.create:
            sesv2 = self.client("sesv2")
            existing = {i["IdentityName"] for i in sesv2.list_email_identities().get("EmailIdentities", [])}
            if identity not in existing:
                sesv2.create_email_identity(EmailIdentity=identity)
            # moto treats created identities as verified; SES v1 too, for either client.
            self.client("ses").verify_email_identity(EmailAddress=identity)
            log(f"SES email identity {identity} verified")
        return {"Ref": identity}

    # -- functions and their events
    def functions(self) -> dict[str, dict]:
        """Function logical id -> {"name": binary name, "props": raw properties}."""
        out = {}
        for lid in self.of_type("AWS::Serverless::Function"):
            res = self.resources[lid]
            binary = (res.get("Metadata") or {}).get("BuildProperties", {}).get("Binary")
            out[lid] = {"name": binary or lid, "props": res.get("Properties") or {}}
        return out

    def environment(self) -> dict[str, str]:
        """The union of the functions' environment variables (Globals + each function)."""
        env: dict[str, str] = {}
        glob = ((self.t.get("Globals") or {}).get("Function") or {}).get("Environment") or {}
        sources = [glob.get("Variables") or {}]
        for fn in self.functions().values():
            sources.append(((fn["props"].get("Environment") or {}).get("Variables")) or {})
        for variables in sources:
            for key, value in variables.items():
                resolved = self.resolve(value)
                if resolved is not NoValue:
                    env[key] = str(resolved)
        return env


# --------------------------------------------------------------------------- processes


def pid_file(name: str) -> Path:
    return LOCAL_DIR / f"{name}.pid"


def read_pid(name: str) -> int | None:
    try:
        pid = int(pid_file(name).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return pid


def spawn(name: str, cmd: list[str], env: dict[str, str] | None = None) -> int:
    """Start cmd in the background in a new session (its own process group)."""
    LOCAL_DIR.mkdir(parents=True, exist_ok=True)
    running = read_pid(name)
    if running:
        log(f"{name} already runs (pid {running})")
        return running
    logf = open(LOCAL_DIR / f"{name}.log", "ab")
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=logf,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    pid_file(name).write_text(f"{proc.pid}\n")
    log(f"{name} started (pid {proc.pid}, log {LOCAL_DIR / (name + '.log')})")
    return proc.pid


def stop(name: str) -> None:
    pid = read_pid(name)
    pid_file(name).unlink(missing_ok=True)
    if pid is None:
        return
    try:
        group = os.getpgid(pid) == pid  # started by spawn(): its own process group
    except ProcessLookupError:
        return

    def send(sig: int) -> None:
        try:
            os.killpg(pid, sig) if group else os.kill(pid, sig)
        except ProcessLookupError:
            pass

    send(signal.SIGTERM)
    for _ in range(50):
        time.sleep(0.2)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
    else:
        send(signal.SIGKILL)
    # Children of the group that outlive their leader (e.g. a function binary).
    if group:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    log(f"{name} stopped (pid {pid})")


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((HOST, port)) == 0


def wait_http(url: str, timeout: float, ok=lambda status: status < 500) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if ok(r.status):
                    return True
        except urllib.error.HTTPError as e:
            if ok(e.code):
                return True
        except (urllib.error.URLError, ConnectionError, socket.timeout):
            pass
        time.sleep(0.5)
    return False


# --------------------------------------------------------------------------- commands


def cmd_up(args: argparse.Namespace) -> int:
    LOCAL_DIR.mkdir(parents=True, exist_ok=True)
    if read_pid("moto") is None:
        if port_open(MOTO_PORT):
            log(f"port {MOTO_PORT} is taken by another program: set MOTO_PORT")
            return 1
        # moto_server, with DynamoDB calls isolated as DynamoDB isolates them (see the script).
        moto = Path(__file__).with_name("moto_server.py")
        spawn("moto", [sys.executable, str(moto), "-H", HOST, "-p", str(MOTO_PORT)])
    if not wait_http(f"{ENDPOINT}/moto-api/", 60, ok=lambda s: s == 200):
        log(f"moto did not answer on {ENDPOINT}; see {LOCAL_DIR / 'moto.log'}")
        return 1
    log(f"moto answers on {ENDPOINT}")
    # moto keeps its queues in memory: a ledger of an earlier stack's deliveries means nothing now.
    DELIVERIES.unlink(missing_ok=True)

    stack = Stack(load_template())
    for rtype in ("AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::SES::EmailIdentity"):
        for lid in stack.of_type(rtype):
            stack.ensure(lid)

    env = {
        "AWS_ENDPOINT_URL": ENDPOINT,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    env.update(stack.environment())
    # The dead-letter queue of each queue the functions know by URL: FOO_QUEUE_URL -> FOO_DLQ_URL.
    for lid in stack.of_type("AWS::SQS::Queue"):
        redrive = (stack.resources[lid].get("Properties") or {}).get("RedrivePolicy") or {}
        target = redrive.get("deadLetterTargetArn")
        if not (isinstance(target, dict) and "Fn::GetAtt" in target):
            continue
        for key, value in list(env.items()):
            if key.endswith("_QUEUE_URL") and value == stack.ensure(lid)["Ref"]:
                env[key[: -len("_QUEUE_URL")] + "_DLQ_URL"] = stack.ensure(target["Fn::GetAtt"][0])["Ref"]
    env.update(
        {
            "STACK_NAME": STACK_NAME,
            "MOTO_PORT": str(MOTO_PORT),
            "WATCH_PORT": str(WATCH_PORT),
        }
    )
    lines = []
    for key, value in env.items():
        if re.search(r"[\s\"'`$\\]", value):
            raise SystemExit(f"{key}={value!r}: not safe for an env file")
        lines.append(f"{key}={value}")
    (LOCAL_DIR / "stack.env").write_text("\n".join(lines) + "\n")
    log(f"wrote {LOCAL_DIR / 'stack.env'}")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    for name in MANAGED:
        stop(name)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    for name in MANAGED:
        pid = read_pid(name)
        print(f"{name:11} {'pid ' + str(pid) if pid else 'not running'}")
    print(f"moto        {ENDPOINT}  ({'open' if port_open(MOTO_PORT) else 'closed'})")
    print(f"api         {WATCH_URL}  ({'open' if port_open(WATCH_PORT) else 'closed'})")
    return 0


def cmd_spawn(args: argparse.Namespace) -> int:
    cmd = args.cmd[1:] if args.cmd and args.cmd[0] == "--" else args.cmd
    if not cmd:
        log("spawn: no command")
        return 2
    spawn(args.name, cmd)
    return 0


def invoke(function: str, event: dict, timeout: float) -> tuple[int, Any]:
    """Invoke a function through cargo lambda watch's Lambda invoke API."""
    req = urllib.request.Request(
        f"{WATCH_URL}/2015-03-31/functions/{function}/invocations",
        data=json.dumps(event).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, body = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    try:
        return status, json.loads(body) if body else None
    except json.JSONDecodeError:
        return status, body.decode(errors="replace")


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
    with open(DELIVERIES, "a", encoding="utf-8") as f:
        f.write("".join(lines))


def cmd_sqs_poller(args: argparse.Namespace) -> int:
    stack = Stack(load_template(), create=False)
    sources = sqs_sources(stack)
    if not sources:
        log("the template has no SQS event sources")
        return 0
    sqs = stack.client("sqs")
    for s in sources:
        q = stack.ensure(s["queue"])
        s["url"] = sqs.get_queue_url(QueueName=q["QueueName"])["QueueUrl"]
        s["arn"] = q["Arn"]
        log(f"polling {q['QueueName']} -> {s['function']} (batch {s['batch_size']}, "
            f"partial failures {'on' if s['partial'] else 'off'})")
    # The first invocation compiles the function: allow for that on top of its timeout.
    invoke_timeout = max(s["timeout"] for s in sources) + args.compile_allowance
    wait = 1 if len(sources) > 1 else args.wait
    running = True

    def halt(*_):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, halt)
    signal.signal(signal.SIGINT, halt)
    while running:
        idle = True
        for s in sources:
            receive = {
                "QueueUrl": s["url"],
                "MaxNumberOfMessages": min(s["batch_size"], 10),
                "WaitTimeSeconds": wait,
                "AttributeNames": ["All"],
                "MessageAttributeNames": ["All"],
            }
            if args.visibility_timeout is not None:
                receive["VisibilityTimeout"] = args.visibility_timeout
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
                status, response = invoke(s["function"], event, invoke_timeout)
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
        if args.once:
            break
        if idle and wait < 1:
            time.sleep(1)
    return 0


def scheduled_event(rule_arn: str) -> dict:
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [rule_arn],
        "detail": {},
    }


def cmd_schedule(args: argparse.Namespace) -> int:
    stack = Stack(load_template(), create=False)
    targets = []
    for lid, fn in stack.functions().items():
        for ev_name, ev in (fn["props"].get("Events") or {}).items():
            if ev.get("Type") in ("Schedule", "ScheduleV2"):
                if args.function and args.function != fn["name"]:
                    continue
                rule = f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{STACK_NAME}-{lid}{ev_name}"
                schedule = (ev.get("Properties") or {}).get("Schedule") or (ev.get("Properties") or {}).get("ScheduleExpression")
                targets.append((fn["name"], rule, schedule))
    if not targets:
        log("no scheduled function matches")
        return 1
    worst = 0
    while True:
        for function, rule, schedule in targets:
            status, response = invoke(function, scheduled_event(rule), args.timeout)
            log(f"{function} ({schedule}): status {status}")
            print(json.dumps(response) if not isinstance(response, str) else response, flush=True)
            if status != 200:
                worst = 1
        if not args.every:
            return worst
        time.sleep(args.every)


def cmd_emails(args: argparse.Namespace) -> int:
    """Emails accepted by moto's SES, from its internal data API."""
    try:
        with urllib.request.urlopen(f"{ENDPOINT}/moto-api/data.json", timeout=10) as r:
            data = json.load(r)
    except (urllib.error.URLError, ConnectionError) as e:
        log(f"moto does not answer on {ENDPOINT}: {e}")
        return 1
    messages = []
    for model, items in (data.get("ses") or {}).items():
        if "message" in model.lower():
            messages.extend(items)
    print(json.dumps(messages, indent=2, default=str))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up").set_defaults(func=cmd_up)
    sub.add_parser("down").set_defaults(func=cmd_down)
    sub.add_parser("status").set_defaults(func=cmd_status)
    sp = sub.add_parser("spawn")
    sp.add_argument("name", choices=[n for n in MANAGED if n != "moto"])
    sp.add_argument("cmd", nargs=argparse.REMAINDER)
    sp.set_defaults(func=cmd_spawn)
    pp = sub.add_parser("sqs-poller")
    pp.add_argument("--once", action="store_true", help="one receive (and invocation), then exit")
    pp.add_argument("--wait", type=int, default=10, help="long-poll seconds (max 20)")
    pp.add_argument(
        "--visibility-timeout", type=int, default=None,
        help="seconds before a failed message is redelivered (default: the queue's own)",
    )
    pp.add_argument("--compile-allowance", type=int, default=900, help="extra invoke timeout for compiling")
    pp.set_defaults(func=cmd_sqs_poller)
    sc = sub.add_parser("schedule")
    sc.add_argument("--every", type=float, default=0, help="repeat every N seconds (default: once)")
    sc.add_argument("--function", default=None, help="only this scheduled function")
    sc.add_argument("--timeout", type=float, default=1200)
    sc.set_defaults(func=cmd_schedule)
    sub.add_parser("emails").set_defaults(func=cmd_emails)
    args = parser.parse_args()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
