"""A stand-in for the SAP Ariba Network's cXML endpoint, where suppliers post documents for buyers
(ConfirmationRequest here): it checks what the Network checks and records what arrives.

What the Network enforces, and so what this stand-in refuses (sources: the Network's own
ProfileResponse lists https://service.ariba.com/service/transaction/cxml.asp for supplier-sent
ConfirmationRequest, InvoiceDetailRequest and ShipNoticeRequest; SAP KB0394932 on credential
domains; documents suppliers post in public code: From and Sender are the supplier's ANID in
domain NetworkID, the Sender carrying the shared secret set in the supplier's Ariba account, and
To the buyer's ANID):
- a document that does not validate against its cXML 1.2.069 DTD (xmllint, the DOCTYPE is never
  fetched): 400;
- From or Sender not the supplier's ANID, or a SharedSecret that is neither the account's current
  nor its previous secret (the deployment's Secrets Manager secret, AWSCURRENT and AWSPREVIOUS):
  401;
- To without a buyer ANID (NetworkID, AN followed by digits, optionally -T): 400.
Anything else is accepted with cXML status 200, as the Network answers a document it takes.

Every document is recorded, with its SharedSecret masked, as one JSON line of
ariba-network.jsonl in the stack's directory: what the e2e tier and `make demo` read back.
`POST /_mode` with `ok`, `status:<code>` or `hang` changes the answers (for the fault tier). A
hung document is recorded with code 0 when it arrives; its connection is held until the mode
changes (and at least `HANG_AT_LEAST` seconds, past any client timeout of the local stack) and
then closed without an answer, as an endpoint that never answers does.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from . import config
from .config import log

DTD_DIR = config.ROOT.parent / "shared" / "cxml" / "dtd" / "1.2.069"
ANID = re.compile(r"^AN\d+(-T)?$")
SECRET = re.compile(r"(<SharedSecret>)(.*?)(</SharedSecret>)", re.S)
# Longer than the local stack's invoice/confirmation timeout (3 s in the e2e tier, at most 60 s
# deployed), so a hung delivery is given up on by the client, not ended by the stand-in.
HANG_AT_LEAST = 10.0
HANG_AT_MOST = 120.0


class NoAnswer(Exception):
    """The stand-in hung: the connection is closed without an answer."""


def ledger() -> Path:
    return config.LOCAL_DIR / "ariba-network.jsonl"


def network_secrets(secret_id: str, client) -> tuple[str, list[str]]:
    """The supplier's ANID and its valid shared secrets (current first) from Secrets Manager."""
    current = json.loads(client.get_secret_value(SecretId=secret_id)["SecretString"])
    secrets = [current["shared_secret"]]
    try:
        previous = json.loads(
            client.get_secret_value(SecretId=secret_id, VersionStage="AWSPREVIOUS")["SecretString"]
        )
        secrets.append(previous["shared_secret"])
    except Exception:  # no previous version yet
        pass
    return current["supplier_anid"], secrets


def dtd_errors(xml: bytes) -> str | None:
    """xmllint's complaint against the DTD the DOCTYPE names, or None when valid."""
    match = re.search(rb'<!DOCTYPE\s+cXML\s+SYSTEM\s+"[^"]*/([A-Za-z]+\.dtd)"', xml)
    if not match:
        return "no cXML DOCTYPE"
    dtd = DTD_DIR / match.group(1).decode()
    if not dtd.exists():
        return f"unknown DTD {dtd.name}"
    run = subprocess.run(
        ["xmllint", "--noout", "--nonet", "--dtdvalid", str(dtd), "-"],
        input=xml,
        capture_output=True,
    )
    return None if run.returncode == 0 else run.stderr.decode(errors="replace")[:2000]


def credentials(el: ET.Element | None) -> list[tuple[str, str, str | None]]:
    if el is None:
        return []
    out = []
    for c in el.findall("Credential"):
        secret = c.findtext("SharedSecret")
        out.append((c.get("domain", ""), (c.findtext("Identity") or "").strip(), secret))
    return out


def judge(xml: bytes, supplier_anid: str, secrets: list[str]) -> tuple[int, str, dict]:
    """(cXML status code, text, facts for the ledger) of one posted document."""
    facts: dict = {}
    errors = dtd_errors(xml)
    if errors:
        return 400, f"Bad Request: the document does not validate: {errors}", facts
    root = ET.fromstring(xml)
    facts["payload_id"] = root.get("payloadID")
    header = root.find("Header")
    request = root.find("Request")
    payload = list(request)[0] if request is not None and len(request) else None
    facts["type"] = payload.tag if payload is not None else None
    facts["deployment_mode"] = request.get("deploymentMode", "production") if request is not None else None
    if payload is not None and payload.tag == "ConfirmationRequest":
        confirmation = payload.find("ConfirmationHeader")
        reference = payload.find("OrderReference")
        facts["confirmation_type"] = confirmation.get("type") if confirmation is not None else None
        facts["confirm_id"] = confirmation.get("confirmID") if confirmation is not None else None
        facts["order_id"] = reference.get("orderID") if reference is not None else None
        document = reference.find("DocumentReference") if reference is not None else None
        facts["order_payload_id"] = document.get("payloadID") if document is not None else None
    sender = credentials(header.find("Sender"))
    from_ = credentials(header.find("From"))
    to = credentials(header.find("To"))
    facts["from"] = [f"{d}/{i}" for d, i, _ in from_]
    facts["to"] = [f"{d}/{i}" for d, i, _ in to]
    facts["sender"] = [f"{d}/{i}" for d, i, _ in sender]
    is_supplier = lambda c: c[0].lower() == "networkid" and c[1] == supplier_anid  # noqa: E731
    if not any(is_supplier(c) for c in from_) or not sender or not is_supplier(sender[0]):
        return 401, "Unauthorized: From and Sender must be the supplier's ANID", facts
    if sender[0][2] not in secrets:
        return 401, "Unauthorized: the shared secret is not the one set in the supplier's account", facts
    if not any(d.lower() == "networkid" and ANID.match(i) for d, i, _ in to):
        return 400, "Bad Request: To names no buyer ANID", facts
    return 200, "OK", facts


class Network:
    def __init__(self, secret_id: str, client):
        self.secret_id = secret_id
        self.client = client
        self.mode = "ok"
        self.lock = threading.Lock()

    def record(self, line: dict) -> None:
        with self.lock, open(ledger(), "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")

    def answer(self, xml: bytes) -> tuple[int, str]:
        mode = self.mode
        if mode == "hang":
            self.hang(xml)
        supplier_anid, secrets = network_secrets(self.secret_id, self.client)
        # Described as usual in every mode, so the ledger says which order a refusal was for.
        code, text, facts = judge(xml, supplier_anid, secrets)
        if mode.startswith("status:"):
            code = int(mode.split(":", 1)[1])
            text = "Internal Server Error" if code >= 500 else "refused (stand-in mode)"
        body = SECRET.sub(lambda m: m.group(1) + "***" + m.group(3), xml.decode(errors="replace"))
        self.record({**facts, "code": code, "text": text, "received_at": time.time(), "body": body})
        return code, response(code, text)


    def hang(self, xml: bytes) -> None:
        supplier_anid, secrets = network_secrets(self.secret_id, self.client)
        _, _, facts = judge(xml, supplier_anid, secrets)
        body = SECRET.sub(lambda m: m.group(1) + "***" + m.group(3), xml.decode(errors="replace"))
        self.record({**facts, "code": 0, "text": "no answer (hang)", "received_at": time.time(), "body": body})
        start = time.monotonic()
        while time.monotonic() - start < HANG_AT_MOST:
            if self.mode != "hang" and time.monotonic() - start >= HANG_AT_LEAST:
                break
            time.sleep(0.1)
        raise NoAnswer()


def response(code: int, text: str) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    status_text = "OK" if code == 200 else text.split(":", 1)[0]
    message = "" if code == 200 else text
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.069/cXML.dtd">\n'
        f'<cXML payloadID="{uuid.uuid4()}@ariba-network.local" timestamp="{stamp}">'
        f'<Response><Status code="{code}" text="{status_text}">{escape(message)}</Status></Response></cXML>'
    )


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def serve(port: int, secret_id: str, client) -> ThreadingHTTPServer:
    # Judging a document needs xmllint; without it every POST would drop its connection.
    if shutil.which("xmllint") is None:
        raise SystemExit("the Ariba Network stand-in needs xmllint: scripts/ensure-tools.sh xmllint")
    network = Network(secret_id, client)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            if self.path == "/_mode":
                network.mode = body.decode().strip() or "ok"
                self.send_response(204)
                self.end_headers()
                return
            try:
                code, answer = network.answer(body)
            except NoAnswer:
                self.close_connection = True
                return
            # The Network answers a refused document with its cXML status in the body and the
            # matching HTTP status line.
            self.send_response(code if code in (200, 400, 401, 500, 503) else 200)
            self.send_header("content-type", "text/xml; charset=utf-8")
            self.end_headers()
            self.wfile.write(answer.encode())

        def log_message(self, fmt, *args):  # the ledger says what arrived
            pass

    server = ThreadingHTTPServer((config.HOST, port), Handler)
    log(f"Ariba Network stand-in on http://{config.HOST}:{port}/ (ledger {ledger()})")
    return server
