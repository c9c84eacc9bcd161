"""ariba_network.py: the SAP Ariba Network stand-in refuses what the Network refuses and records what arrives."""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
import unittest
import urllib.request
from pathlib import Path
from unittest import mock

from localstack import ariba_network, config

SUPPLIER = "AN01000000099"
SECRETS = ["current-secret", "previous-secret"]


def confirmation(from_=SUPPLIER, sender=SUPPLIER, secret="current-secret", to="AN01000000001",
                 with_reference=True) -> bytes:
    reference = (
        '<OrderReference orderID="PO-1" orderDate="2026-11-24T10:00:00+00:00">'
        '<DocumentReference payloadID="po-payload@buyer"/></OrderReference>'
        if with_reference else '<OrderReference orderID="PO-1"/>'
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.069/Fulfill.dtd">
<cXML payloadID="conf-1.confirmation@marketplace" timestamp="2026-11-24T10:05:00+00:00">
<Header>
<From><Credential domain="NetworkID"><Identity>{from_}</Identity></Credential></From>
<To><Credential domain="NetworkID"><Identity>{to}</Identity></Credential></To>
<Sender><Credential domain="NetworkID"><Identity>{sender}</Identity><SharedSecret>{secret}</SharedSecret></Credential><UserAgent>test</UserAgent></Sender>
</Header>
<Request deploymentMode="production"><ConfirmationRequest>
<ConfirmationHeader type="accept" noticeDate="2026-11-24T10:05:00+00:00" operation="new" confirmID="conf-1"/>
{reference}
</ConfirmationRequest></Request></cXML>""".encode()


@unittest.skipUnless(shutil.which("xmllint") and ariba_network.DTD_DIR.exists(), "needs xmllint and the DTDs")
class Judge(unittest.TestCase):
    def test_a_well_signed_confirmation_is_accepted_and_described(self):
        code, text, facts = ariba_network.judge(confirmation(), SUPPLIER, SECRETS)
        self.assertEqual((code, text), (200, "OK"))
        self.assertEqual(facts["type"], "ConfirmationRequest")
        self.assertEqual(facts["confirmation_type"], "accept")
        self.assertEqual(facts["order_id"], "PO-1")
        self.assertEqual(facts["order_payload_id"], "po-payload@buyer")
        self.assertEqual(facts["to"], ["NetworkID/AN01000000001"])
        # The previous secret still opens, during a rotation.
        self.assertEqual(ariba_network.judge(confirmation(secret="previous-secret"), SUPPLIER, SECRETS)[0], 200)

    def test_what_the_network_refuses(self):
        cases = [
            (confirmation(secret="guess"), 401),
            (confirmation(from_="AN01000000098"), 401),
            (confirmation(sender="AN01000000098"), 401),
            (confirmation(to="customer-7"), 400),
            (confirmation(with_reference=False), 400),  # the DTD requires DocumentReference
            (b"<cXML/>", 400),
        ]
        for xml, code in cases:
            self.assertEqual(ariba_network.judge(xml, SUPPLIER, SECRETS)[0], code, xml[-300:])


class Recording(unittest.TestCase):
    def setUp(self):
        self.dir = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.dir)
        patch = mock.patch.object(config, "LOCAL_DIR", self.dir)
        patch.start()
        self.addCleanup(patch.stop)
        client = mock.Mock()
        values = {None: {"supplier_anid": SUPPLIER, "shared_secret": SECRETS[0]}}
        client.get_secret_value.side_effect = lambda SecretId, VersionStage=None: (
            {"SecretString": json.dumps(values[VersionStage])} if VersionStage in values
            else (_ for _ in ()).throw(RuntimeError("no such version"))
        )
        self.server = ariba_network.serve(0, "secret-arn", client)
        self.addCleanup(self.server.server_close)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.addCleanup(self.server.shutdown)
        self.url = f"http://{config.HOST}:{self.server.server_address[1]}/service/transaction/cxml.asp"

    def post(self, body: bytes, path: str | None = None) -> tuple[int, str]:
        request = urllib.request.Request(path or self.url, data=body, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def test_every_document_is_recorded_without_its_secret(self):
        status, body = self.post(confirmation(secret="guess"))
        self.assertEqual(status, 401)
        self.assertIn('<Status code="401"', body)
        lines = [json.loads(l) for l in ariba_network.ledger().read_text().splitlines()]
        self.assertEqual(len(lines), 1)
        self.assertEqual(lines[0]["code"], 401)
        self.assertNotIn("guess", lines[0]["body"])
        self.assertIn("<SharedSecret>***</SharedSecret>", lines[0]["body"])

    def test_the_mode_switch_answers_as_told(self):
        self.assertEqual(self.post(b"status:503", self.url.replace("/service/transaction/cxml.asp", "/_mode"))[0], 204)
        status, body = self.post(confirmation())
        self.assertEqual(status, 503)
        self.assertIn('code="503"', body)
        lines = [json.loads(l) for l in ariba_network.ledger().read_text().splitlines()]
        self.assertEqual([(l["code"], l["order_id"]) for l in lines], [(503, "PO-1")])

    def test_a_hung_document_is_recorded_and_its_connection_closed_without_an_answer(self):
        mode_url = self.url.replace("/service/transaction/cxml.asp", "/_mode")
        self.assertEqual(self.post(b"hang", mode_url)[0], 204)
        with mock.patch.object(ariba_network, "HANG_AT_LEAST", 0.0):
            outcome: dict = {}

            def send():
                try:
                    outcome["answer"] = self.post(confirmation())
                except Exception as e:  # noqa: BLE001 - the closed connection is the point
                    outcome["error"] = e

            sender = threading.Thread(target=send)
            sender.start()
            # The hung document is on the ledger before anything is answered.
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not ariba_network.ledger().exists():
                time.sleep(0.05)
            lines = [json.loads(l) for l in ariba_network.ledger().read_text().splitlines()]
            self.assertEqual([(l["code"], l["order_id"]) for l in lines], [(0, "PO-1")])
            self.assertTrue(sender.is_alive(), "held while the mode says hang")
            self.post(b"ok", mode_url)
            sender.join(timeout=10)
        self.assertFalse(sender.is_alive())
        self.assertNotIn("answer", outcome, "no answer after a hang")
        self.assertIn("error", outcome)
