"""The template's IAM policies for the functions' DynamoDB calls, enforced on the local stack.

moto allows every request; AWS checks each one against the calling function's role. Without a
model of that check, a function that writes a partition its policy does not allow passes every
local test and fails when deployed. The fault proxy (fault_proxy.py) sits between the functions
and moto, so it applies this check to each DynamoDB request:

- the caller is the function whose SDK names it as its app (`app/<binary>` in the user agent,
  procurement_aws::aws_deps); requests without one (tests, the SQS poller) are not checked;
- the actions are the operation's, item by item for transactions (DynamoDB Developer Guide,
  "Using IAM with DynamoDB transactions": a Put is checked as dynamodb:PutItem, an Update as
  dynamodb:UpdateItem, a Delete as dynamodb:DeleteItem, a ConditionCheck as
  dynamodb:ConditionCheckItem; BatchWriteItem and BatchGetItem are their own actions);
- `dynamodb:LeadingKeys` is the partition key of each item the request touches ("Using IAM
  policy conditions for fine-grained access control"); `ForAllValues:StringLike` and
  `ForAllValues:StringEquals` hold when every key matches (also for no key, as in IAM);
- a request is allowed when some Allow statement covers each action and its keys and no Deny
  does (IAM's evaluation logic, identity-based policies only).

A refused request gets what DynamoDB answers: 400 AccessDeniedException. Each refusal is kept
(GET /__iam on the proxy) so that `make e2e` fails when any happened, also one the function
swallowed (the message log never fails an answer).
"""

from __future__ import annotations

import fnmatch
import json
import re
import threading
from typing import Any

_APP = re.compile(r"(?:^|\s)app/([A-Za-z0-9!#$%&'*+\-.^_`|~]+)")
_TARGET_PREFIX = "DynamoDB_20120810."
PARTITION_KEY = "PK"

# A transaction's item kinds and the actions AWS checks them as.
_TRANSACT_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Get": "dynamodb:GetItem",
}


def app_of(headers: Any) -> str | None:
    """The app name the SDK put into its user agent, if any."""
    for name in ("x-amz-user-agent", "user-agent"):
        match = _APP.search(headers.get(name) or "")
        if match:
            return match.group(1)
    return None


def _key(item: dict | None) -> list[str]:
    value = (item or {}).get(PARTITION_KEY) or {}
    return [value["S"]] if isinstance(value, dict) and "S" in value else []


def requested(operation: str, body: dict) -> list[tuple[str, list[str]]]:
    """The (action, leading keys) pairs one DynamoDB request needs allowed."""
    if operation == "TransactWriteItems" or operation == "TransactGetItems":
        out = []
        for entry in body.get("TransactItems") or []:
            for kind, step in entry.items():
                keys = _key(step.get("Item")) or _key(step.get("Key"))
                out.append((_TRANSACT_ACTIONS.get(kind, f"dynamodb:{kind}"), keys))
        return out
    if operation == "BatchWriteItem":
        keys = []
        for writes in (body.get("RequestItems") or {}).values():
            for write in writes:
                put, delete = write.get("PutRequest"), write.get("DeleteRequest")
                keys += _key((put or {}).get("Item")) + _key((delete or {}).get("Key"))
        return [("dynamodb:BatchWriteItem", keys)]
    if operation == "BatchGetItem":
        keys = []
        for wanted in (body.get("RequestItems") or {}).values():
            for key in wanted.get("Keys") or []:
                keys += _key(key)
        return [("dynamodb:BatchGetItem", keys)]
    if operation == "PutItem":
        return [("dynamodb:PutItem", _key(body.get("Item")))]
    if operation in ("GetItem", "UpdateItem", "DeleteItem"):
        return [(f"dynamodb:{operation}", _key(body.get("Key")))]
    # Query and Scan: the read statements carry no key condition here.
    return [(f"dynamodb:{operation}", [])]


def _listed(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _condition_holds(condition: dict | None, keys: list[str]) -> bool:
    for operator, tests in (condition or {}).items():
        for name, wanted in tests.items():
            if name != "dynamodb:LeadingKeys":
                raise ValueError(f"the local IAM model does not know the condition key {name}")
            patterns = [str(p) for p in _listed(wanted)]
            if operator == "ForAllValues:StringLike":
                match = lambda k: any(fnmatch.fnmatchcase(k, p) for p in patterns)  # noqa: E731
            elif operator == "ForAllValues:StringEquals":
                match = lambda k: k in patterns  # noqa: E731
            else:
                raise ValueError(f"the local IAM model does not know the operator {operator}")
            if not all(match(k) for k in keys):
                return False
    return True


def _covers(statement: dict, action: str, keys: list[str]) -> bool:
    actions = [str(a) for a in _listed(statement.get("Action") or [])]
    if not any(fnmatch.fnmatchcase(action, a) for a in actions):
        return False
    return _condition_holds(statement.get("Condition"), keys)


class Policies:
    """Each function's inline policy statements (by binary name), and the refusals seen."""

    def __init__(self, statements: dict[str, list[dict]]):
        self.statements = statements
        self._lock = threading.Lock()
        self._denied: list[dict] = []

    @classmethod
    def of_template(cls, template: dict) -> "Policies":
        """The inline statements of every function of a loaded template.yaml, by binary name.
        Actions and conditions are plain strings there; resources are not checked (one table)."""
        out: dict[str, list[dict]] = {}
        for logical_id, res in (template.get("Resources") or {}).items():
            if res.get("Type") != "AWS::Serverless::Function":
                continue
            binary = (res.get("Metadata") or {}).get("BuildProperties", {}).get("Binary") or logical_id
            statements: list[dict] = []
            for policy in (res.get("Properties") or {}).get("Policies") or []:
                if isinstance(policy, dict) and "Statement" in policy:
                    statements += policy["Statement"]
            out[binary] = statements
        return cls(out)

    def refusal(self, app: str | None, operation: str, body: dict) -> str | None:
        """Why AWS would refuse this request of function `app`, or None if it allows it."""
        if app is None or app not in self.statements:
            return None
        statements = self.statements[app]
        for action, keys in requested(operation, body):
            allowed = [s for s in statements if s.get("Effect") == "Allow" and _covers(s, action, keys)]
            denied = [s for s in statements if s.get("Effect") == "Deny" and _covers(s, action, keys)]
            if denied or not allowed:
                reason = (f"User: arn:aws:sts::123456789012:assumed-role/{app}-role/{app} is not "
                          f"authorized to perform: {action} because no identity-based policy allows "
                          f"the {action} action (keys {', '.join(keys) or 'none'})")
                with self._lock:
                    self._denied.append({"function": app, "operation": operation, "action": action,
                                         "keys": keys})
                return reason
        return None

    def denied(self) -> list[dict]:
        with self._lock:
            return list(self._denied)


def dynamodb_operation(headers: Any) -> str | None:
    target = headers.get("X-Amz-Target") or ""
    return target[len(_TARGET_PREFIX):] if target.startswith(_TARGET_PREFIX) else None


def access_denied(message: str) -> bytes:
    """DynamoDB's JSON-protocol answer to a request IAM refused (HTTP 400)."""
    return json.dumps({"__type": "com.amazon.coral.service#AccessDeniedException",
                       "Message": message}).encode()


def parse_body(body: bytes) -> dict:
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
