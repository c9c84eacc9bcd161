"""A stand-in for API Gateway's REST API in front of the admin function (template.yaml AdminApi):
what API Gateway does before the function sees a request, so that the local stack exercises the
cross-account admin design instead of handing the function a caller it made up.

For each request, in API Gateway's order (sources: "Control access to a REST API with IAM
permissions", "How API Gateway resource policies affect authorization workflow" (cross-account:
the resource policy must allow the caller's account), "Gateway response types for API
Gateway", the SigV4 reference "Create a signed AWS API request"):
- a path outside `/<stage>/admin/` (no resource) or a request without a signature:
  MISSING_AUTHENTICATION_TOKEN;
- a malformed Authorization header: INCOMPLETE_SIGNATURE (403);
- an access key no local account holds: 403 "The security token included in the request is
  invalid.";
- a credential scope for another region or service, or an X-Amz-Date more than 5 minutes off:
  INVALID_SIGNATURE (403);
- a signature that is not the one the account's secret gives (recomputed with botocore's SigV4
  implementation over the signed headers, the path and query as sent and the body):
  INVALID_SIGNATURE (403), "The request signature we calculated does not match...";
- an account the resource policy does not allow: ACCESS_DENIED (403);
- else the request goes to the function as a REST API event (payload 1.0), the caller's own
  account in `requestContext.identity.accountId`, and the function's answer back as it is.
The answers API Gateway gives itself use the template's GatewayResponses (status and JSON
template, `$context.error.messageString` filled in), as the deployed API does.

What the template says is read from it: the stage, the resource policy's allowed accounts
(AdminAccountIds as the local stack resolves it), the gateway responses, the function whose Api
event names AdminApi. What a real account also needs, the caller's own identity policy allowing
execute-api:Invoke, is not modelled: every local account's admin is assumed to have it.

Local credentials: `up` gives every account the resource policy allows, and one account it does
not allow (OUTSIDE_ACCOUNT), an access key and a random secret, written to
admin-credentials.json in the stack's directory (and shown in the seed JSON by `make run`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import string
import time
import urllib.parse
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from . import config
from .config import REGION, log
from .invoke import invoke

API = "AdminApi"
SERVICE = "execute-api"
# An account with local credentials that the resource policy does not allow (never in
# AdminAccountIds): a signed request from it is refused by API Gateway, not by the function.
OUTSIDE_ACCOUNT = "888888888888"
# API Gateway refuses a signature whose X-Amz-Date is more than 5 minutes off its clock.
MAX_SKEW_SECONDS = 300
AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$"
)
MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details."
)
# Each gateway response type's status when the template does not set one.
DEFAULT_STATUS = {
    "MISSING_AUTHENTICATION_TOKEN": 403,
    "INCOMPLETE_SIGNATURE": 403,
    "INVALID_SIGNATURE": 403,
    "UNAUTHORIZED": 401,
    "ACCESS_DENIED": 403,
    "EXPIRED_TOKEN": 403,
    "INTEGRATION_FAILURE": 504,
}


def credentials_file() -> Path:
    return config.LOCAL_DIR / "admin-credentials.json"


class Refused(Exception):
    """API Gateway answers itself: a gateway response type and its message."""

    def __init__(self, response_type: str, message: str):
        super().__init__(message)
        self.response_type = response_type
        self.message = message


# ---------------------------------------------------------------- what the template says

def _api(stack) -> dict:
    res = stack.resources.get(API)
    if res is None or res.get("Type") != "AWS::Serverless::Api":
        raise SystemExit(f"template.yaml has no AWS::Serverless::Api {API}")
    return res.get("Properties") or {}


def allowed_accounts(stack) -> list[str]:
    """The accounts the AdminApi resource policy allows to invoke `execute-api:/*/*/admin/*`."""
    policy = (((_api(stack).get("Auth") or {}).get("ResourcePolicy")) or {})
    accounts: list[str] = []
    for statement in policy.get("CustomStatements") or []:
        statement = stack.resolve(statement)
        if statement.get("Effect") != "Allow" or statement.get("Action") != "execute-api:Invoke":
            continue
        principals = (statement.get("Principal") or {}).get("AWS")
        for principal in principals if isinstance(principals, list) else [principals]:
            match = re.fullmatch(r"(?:arn:aws:iam::)?(\d{12})(?::root)?", str(principal or ""))
            if match and match.group(1) not in accounts:
                accounts.append(match.group(1))
    return accounts


def stage(stack) -> str:
    return str(stack.resolve(_api(stack).get("StageName") or "Prod"))


def gateway_responses(stack) -> dict[str, dict]:
    return stack.resolve(_api(stack).get("GatewayResponses") or {})


def function_name(stack) -> str:
    """The binary of the function whose Api event is on AdminApi."""
    for fn in stack.functions().values():
        for event in (fn["props"].get("Events") or {}).values():
            props = event.get("Properties") or {}
            if event.get("Type") == "Api" and props.get("RestApiId") == {"Ref": API}:
                return fn["name"]
    raise SystemExit(f"no function has an Api event on {API}")


def render(responses: dict[str, dict], response_type: str, message: str) -> tuple[int, bytes]:
    """API Gateway's own answer of one type, from the template's gateway responses (the type's
    own, else DEFAULT_4XX/5XX), as the deployed API renders it."""
    status = DEFAULT_STATUS.get(response_type, 403)
    own = responses.get(response_type) or {}
    if own.get("StatusCode"):
        status = int(own["StatusCode"])
    fallback = responses.get("DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX") or {}
    template = ((own.get("ResponseTemplates") or fallback.get("ResponseTemplates") or {})
                .get("application/json"))
    if template is None:
        return status, json.dumps({"message": message}).encode()
    body = template.replace("$context.error.messageString", json.dumps(message))
    body = body.replace("$context.error.message", message)
    return status, body.encode()


# ---------------------------------------------------------------- local credentials

def access_key_id() -> str:
    alphabet = string.ascii_uppercase + "234567"
    return "AKIA" + "".join(secrets.choice(alphabet) for _ in range(16))


def create_credentials(stack) -> dict[str, dict]:
    """One access key per account the resource policy allows, and one for OUTSIDE_ACCOUNT."""
    accounts = allowed_accounts(stack)
    out = {}
    for account in accounts + [OUTSIDE_ACCOUNT]:
        out[account] = {
            "access_key_id": access_key_id(),
            "secret_access_key": secrets.token_urlsafe(30),
            "allowed_by_resource_policy": account in accounts,
        }
    credentials_file().write_text(json.dumps(out, indent=2) + "\n")
    return out


def load_credentials() -> dict[str, dict]:
    return json.loads(credentials_file().read_text())


# ---------------------------------------------------------------- SigV4

def expected_signature(method: str, target: str, headers: dict[str, str], signed: list[str],
                       body: bytes, secret: str, access_key: str, amz_date: str,
                       region: str, service: str) -> str:
    """The SigV4 signature of the request as sent (path and query as on the request line), over
    the headers it says it signed, recomputed with botocore's implementation."""
    request = AWSRequest(
        method=method,
        url=f"http://{headers.get('host', '')}{target}",
        data=body,
        headers={name: headers.get(name, "") for name in signed},
    )
    request.context["timestamp"] = amz_date
    auth = SigV4Auth(Credentials(access_key, secret), service, region)
    canonical = auth.canonical_request(request)
    return auth.signature(auth.string_to_sign(request, canonical), request)


def authenticate(method: str, target: str, headers: dict[str, str], body: bytes,
                 keys: dict[str, tuple[str, str]], now: float | None = None) -> str:
    """The account whose SigV4 signature this request carries; Refused as API Gateway refuses.
    `keys`: access key ID -> (account, secret); `headers` with lower-case names."""
    authorization = headers.get("authorization", "").strip()
    if not authorization:
        raise Refused("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")
    match = AUTHORIZATION.match(authorization)
    if not match:
        raise Refused(
            "INCOMPLETE_SIGNATURE",
            "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters "
            "(AWS4-HMAC-SHA256).",
        )
    credential, signed_headers, signature = match.groups()
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise Refused("INCOMPLETE_SIGNATURE", f"Credential is malformed: {credential}")
    access_key, scope_date, region, service, _ = parts
    if access_key not in keys:
        raise Refused("UNAUTHORIZED_KEY", "The security token included in the request is invalid.")
    if region != REGION:
        raise Refused("INVALID_SIGNATURE", f"Credential should be scoped to a valid region, not '{region}'.")
    if service != SERVICE:
        raise Refused("INVALID_SIGNATURE", f"Credential should be scoped to correct service: '{SERVICE}'.")
    amz_date = headers.get("x-amz-date", "")
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise Refused("INCOMPLETE_SIGNATURE", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
    now = time.time() if now is None else now
    if abs(now - signed_at.timestamp()) > MAX_SKEW_SECONDS or not amz_date.startswith(scope_date):
        raise Refused("INVALID_SIGNATURE", f"Signature expired: {amz_date} is not within 5 minutes of the server's time.")
    signed = signed_headers.split(";")
    if "host" not in signed:
        raise Refused("INVALID_SIGNATURE", MISMATCH)
    claimed = headers.get("x-amz-content-sha256")
    if claimed is not None and claimed != hashlib.sha256(body).hexdigest():
        raise Refused("INVALID_SIGNATURE", MISMATCH)
    account, secret = keys[access_key]
    expected = expected_signature(method, target, headers, signed, body, secret, access_key,
                                  amz_date, region, service)
    if not hmac.compare_digest(expected, signature):
        raise Refused("INVALID_SIGNATURE", MISMATCH)
    return account


# ---------------------------------------------------------------- the event

def rest_event(method: str, target: str, headers: dict[str, str], body: bytes, account: str | None,
               access_key: str | None, api_stage: str, source_ip: str) -> dict[str, Any]:
    """The REST API event (payload 1.0) of `ANY /admin/{proxy+}` for this request."""
    split = urllib.parse.urlsplit(target)
    path = split.path[len(f"/{api_stage}"):]
    query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
    identity: dict[str, Any] = {"sourceIp": source_ip, "userAgent": headers.get("user-agent")}
    if account:
        identity.update({
            "accountId": account,
            "accessKey": access_key,
            "caller": f"AIDALOCAL{account}",
            "user": f"AIDALOCAL{account}",
            "userArn": f"arn:aws:iam::{account}:user/local-admin",
        })
    try:
        text, encoded = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    return {
        "resource": "/admin/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[0] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": {"proxy": path[len("/admin/"):]},
        "stageVariables": None,
        "requestContext": {
            "accountId": config.ACCOUNT_ID,
            "apiId": "local-admin",
            "domainName": headers.get("host"),
            "domainPrefix": "local-admin",
            "httpMethod": method,
            "identity": identity,
            "path": split.path,
            "protocol": "HTTP/1.1",
            "requestId": secrets.token_hex(8),
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "requestTimeEpoch": int(time.time() * 1000),
            "resourceId": "local",
            "resourcePath": "/admin/{proxy+}",
            "stage": api_stage,
        },
        "body": text if body else None,
        "isBase64Encoded": encoded,
    }


def resource_arn(api_stage: str, method: str, path: str) -> str:
    return f"arn:aws:execute-api:{REGION}:{config.ACCOUNT_ID}:local-admin/{api_stage}/{method}{path}"


class Gateway:
    """The admin API's REST API: what to check, and the function behind it."""

    def __init__(self, stack, credentials: dict[str, dict], timeout: float = 900):
        self.stage = stage(stack)
        self.allowed = set(allowed_accounts(stack))
        self.responses = gateway_responses(stack)
        self.function = function_name(stack)
        self.keys = {c["access_key_id"]: (account, c["secret_access_key"]) for account, c in credentials.items()}
        self.timeout = timeout

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes,
               source_ip: str = "127.0.0.1") -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) of one request."""
        try:
            path = urllib.parse.urlsplit(target).path
            if not path.startswith(f"/{self.stage}/admin/") or path == f"/{self.stage}/admin/":
                raise Refused("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")
            account = authenticate(method, target, headers, body, self.keys)
            if account not in self.allowed:
                resource = resource_arn(self.stage, method, path[len(f"/{self.stage}"):])
                raise Refused(
                    "ACCESS_DENIED",
                    f"User: arn:aws:iam::{account}:user/local-admin is not authorized to perform: "
                    f"execute-api:Invoke on resource: {resource}",
                )
        except Refused as refused:
            kind = "UNAUTHORIZED" if refused.response_type == "UNAUTHORIZED_KEY" else refused.response_type
            status, answer = render(self.responses, kind, refused.message)
            if refused.response_type == "UNAUTHORIZED_KEY":
                status = 403  # API Gateway's answer to an unknown access key
            return status, {"content-type": "application/json", "x-amzn-errortype": kind}, answer
        access_key = AUTHORIZATION.match(headers["authorization"].strip()).group(1).split("/")[0]
        event = rest_event(method, target, headers, body, account, access_key, self.stage, source_ip)
        status, out = invoke(self.function, event, self.timeout)
        if status != 200 or not isinstance(out, dict) or "statusCode" not in out:
            code, answer = render(self.responses, "INTEGRATION_FAILURE" if status == 0 else "DEFAULT_5XX",
                                  "Internal server error")
            return 502 if code == 504 else code, {"content-type": "application/json"}, answer
        answer_headers = {k.lower(): str(v) for k, v in (out.get("headers") or {}).items()}
        for k, values in (out.get("multiValueHeaders") or {}).items():
            if values:
                answer_headers[k.lower()] = str(values[-1])
        text = out.get("body") or ""
        if out.get("isBase64Encoded"):
                payload = base64.b64decode(text)
        else:
            payload = text.encode()
        return int(out["statusCode"]), answer_headers, payload


def serve(port: int, gateway: Gateway) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self):
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, answer_headers, payload = gateway.handle(
                self.command, self.path, headers, body, self.client_address[0]
            )
            self.send_response(status)
            for k, v in answer_headers.items():
                if k not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(k, v)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _any  # noqa: N815

        def log_message(self, fmt, *args):
            log(f"admin-api {self.command} {self.path} {args[1] if len(args) > 1 else ''}")

    server = ThreadingHTTPServer((config.HOST, port), Handler)
    log(f"admin REST API stand-in on http://{config.HOST}:{port}/{gateway.stage} -> {gateway.function}")
    return server
