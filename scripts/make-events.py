#!/usr/bin/env python3
"""Writes the Lambda event fixtures in events/ (run after changing a scenario; output is committed).

Each fixture is a real event shape: API Gateway HTTP API (payload 2.0) for the HTTP
functions, REST API (payload 1.0) for the admin API, an SQS batch for invoice-dispatch, an EventBridge scheduled event for the
expiry check. Credentials are the demo ones `make run` seeds (procurement::demo).
"""
import base64, json, pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent / "events"
COUPA = ("DUNS", "coupa-demo-buyer", "local-demo-coupa-secret")
# Ariba buyers reach the marketplace through the SAP Ariba Network, which forwards their
# documents: From the buyer's ANID (and the buyer's own system ID), To the supplier's ANID and
# the buyer's private ID for it, Sender the Network itself with the supplier's one Network
# secret (procurement::demo::ARIBA_NETWORK_SECRET). Shape from forwarded documents in public code.
ARIBA_ANID = "AN01000000001"
ARIBA_TEST_ANID = "AN01000000001-T"
SUPPLIER_ANID = "AN01000000099"
NETWORK_SECRET = "local-demo-ariba-network-secret"

def network_header(buyer_anid, secret=NETWORK_SECRET, agent="Buyer 14s2"):
    return f"""  <Header>
    <From>
      <Credential domain="NetworkId">
        <Identity>{buyer_anid}</Identity>
      </Credential>
      <Credential domain="SystemID">
        <Identity>buyer-erp-0001</Identity>
      </Credential>
    </From>
    <To>
      <Credential domain="networkid">
        <Identity>{SUPPLIER_ANID}</Identity>
      </Credential>
      <Credential domain="PrivateId">
        <Identity>vendor-4711</Identity>
      </Credential>
    </To>
    <Sender>
      <Credential domain="AribaNetworkUserId">
        <Identity>sysadmin@ariba.com</Identity>
        <SharedSecret>{secret}</SharedSecret>
      </Credential>
      <UserAgent>{agent}</UserAgent>
    </Sender>
  </Header>"""

def network_doc(payload_id, body, buyer_anid=ARIBA_ANID, secret=NETWORK_SECRET, timestamp="2026-11-24T10:00:00+00:00"):
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.014/cXML.dtd">
<cXML payloadID="{payload_id}" timestamp="{timestamp}" xml:lang="en-US">
{network_header(buyer_anid, secret)}
{body}
</cXML>
"""

def header(party, secret=None, agent="Coupa Procurement 1.0"):
    domain, identity, real_secret = party
    secret = real_secret if secret is None else secret
    secret_xml = f"\n        <SharedSecret>{secret}</SharedSecret>" if secret != "" else ""
    return f"""  <Header>
    <From>
      <Credential domain="{domain}">
        <Identity>{identity}</Identity>
      </Credential>
    </From>
    <To>
      <Credential domain="NetworkID">
        <Identity>marketplace</Identity>
      </Credential>
    </To>
    <Sender>
      <Credential domain="{domain}">
        <Identity>{identity}</Identity>{secret_xml}
      </Credential>
      <UserAgent>{agent}</UserAgent>
    </Sender>
  </Header>"""

def doc(payload_id, body, party=COUPA, secret=None, agent="Coupa Procurement 1.0", timestamp="2026-11-24T10:00:00+00:00"):
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.014/cXML.dtd">
<cXML payloadID="{payload_id}" timestamp="{timestamp}" xml:lang="en-US">
{header(party, secret, agent)}
{body}
</cXML>
"""

COUPA_SETUP = """  <Request>
    <PunchOutSetupRequest operation="create">
      <BuyerCookie>c64af92dc27e68172e030d3dfd1bc944</BuyerCookie>
      <Extrinsic name="FirstName">Jim</Extrinsic>
      <Extrinsic name="LastName">Halpert</Extrinsic>
      <Extrinsic name="UserEmail">jim.halpert@buyer.example</Extrinsic>
      <Contact role="endUser">
        <Name xml:lang="en-US">jim</Name>
        <Email>jim.halpert@buyer.example</Email>
      </Contact>
      <BrowserFormPost>
        <URL>http://127.0.0.1:9100/punchout/checkout/4</URL>
      </BrowserFormPost>
    </PunchOutSetupRequest>
  </Request>"""

ARIBA_SETUP = """  <Request deploymentMode="production">
    <PunchOutSetupRequest operation="create">
      <BuyerCookie>ariba-cookie-7f3e</BuyerCookie>
      <Extrinsic name="UserEmail">pam.beesly@buyer.example</Extrinsic>
      <Extrinsic name="UniqueName">pbeesly</Extrinsic>
      <BrowserFormPost>
        <URL>https://s1.ariba.com/Buyer/punchout?client=demo&amp;responseid=ariba-cookie-7f3e</URL>
      </BrowserFormPost>
      <Contact role="endUser">
        <Name xml:lang="en">Pam Beesly</Name>
        <Email>pam.beesly@buyer.example</Email>
      </Contact>
      <SupplierSetup>
        <URL>https://punchout.marketplace.example/punchout/setup</URL>
      </SupplierSetup>
    </PunchOutSetupRequest>
  </Request>"""
ARIBA_SETUP_SELECTED = ARIBA_SETUP.replace("""      </SupplierSetup>""", """      </SupplierSetup>
      <SelectedItem>
        <ItemID>
          <SupplierPartID>prod-saas-upfront</SupplierPartID>
        </ItemID>
      </SelectedItem>""")

PROFILE = """  <Request>
    <ProfileRequest/>
  </Request>"""

ORDER = """  <Request deploymentMode="test">
    <OrderRequest>
      <OrderRequestHeader orderID="PO-4711" orderDate="2026-11-24T09:59:00+00:00" type="new">
        <Total>
          <Money currency="USD">12000.00</Money>
        </Total>
        <ShipTo>
          <Address addressID="HQ">
            <Name xml:lang="en">Buyer Inc. HQ</Name>
          </Address>
        </ShipTo>
        <BillTo>
          <Address addressID="AP">
            <Name xml:lang="en">Buyer Inc. Accounts Payable</Name>
          </Address>
        </BillTo>
        <Contact role="endUser">
          <Name xml:lang="en">Jim Halpert</Name>
          <Email>jim.halpert@buyer.example</Email>
        </Contact>
      </OrderRequestHeader>
      <ItemOut quantity="1" lineNumber="1">
        <ItemID>
          <SupplierPartID>prod-saas-upfront</SupplierPartID>
          <SupplierPartAuxiliaryID>quote-0001</SupplierPartAuxiliaryID>
        </ItemID>
        <ItemDetail>
          <UnitPrice>
            <Money currency="USD">12000.00</Money>
          </UnitPrice>
          <Description xml:lang="en">Ledgerly Analytics, 12 months</Description>
          <UnitOfMeasure>EA</UnitOfMeasure>
          <Classification domain="UNSPSC">81162000</Classification>
        </ItemDetail>
      </ItemOut>
    </OrderRequest>
  </Request>"""

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE cXML [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<cXML payloadID="lol@x" timestamp="2026-11-24T10:00:00+00:00"><Request>&lol3;</Request></cXML>
"""

def http_event(method, path, body="", query="", content_type="text/xml; charset=utf-8", agent="Coupa Procurement 1.0", route_key=None, iam_account=None, headers=None):
    """route_key: the API Gateway route that matched (default: method and path).
    iam_account: the AWS account that signed the request, as the IAM authorizer reports it.
    headers: more request headers (lower-case names, as API Gateway passes them)."""
    route_key = route_key or f"{method} {path}"
    qs = {}
    for pair in filter(None, query.split("&")):
        k, _, v = pair.partition("=")
        qs[k] = v
    event = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": {
            "content-type": content_type,
            "host": "abc123.execute-api.us-east-1.amazonaws.com",
            "user-agent": agent,
            "x-forwarded-proto": "https",
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.10", "userAgent": agent},
            "requestId": "fixture-request",
            "routeKey": route_key,
            "stage": "$default",
            "time": "24/Nov/2026:10:00:00 +0000",
            "timeEpoch": 1795514400000,
        },
        "isBase64Encoded": False,
    }
    event["headers"].update(headers or {})
    if iam_account:
        event["requestContext"]["authorizer"] = {"iam": {
            "accessKey": "AKIAIOSFODNN7EXAMPLE",
            "accountId": iam_account,
            "callerId": "AIDACKCEVSQ6C2EXAMPLE",
            "cognitoIdentity": None,
            "principalOrgId": None,
            "userArn": f"arn:aws:iam::{iam_account}:user/procurement-admin",
            "userId": "AIDACKCEVSQ6C2EXAMPLE",
        }}
    if route_key.endswith("{proxy+}"):
        prefix = route_key.split(" ", 1)[1].split("{proxy+}")[0]
        event["pathParameters"] = {"proxy": path[len(prefix):]}
    if qs:
        event["queryStringParameters"] = qs
    if body:
        event["body"] = body
    return event

def rest_event(method, path, body=None, query="", content_type="application/json", agent="aws-cli/2.17.0", iam_account=None, stage="v1"):
    """An API Gateway REST API event (payload 1.0), as the admin API's `ANY /admin/{proxy+}`
    with AWS_IAM hands it over: the caller's own account in requestContext.identity."""
    host = "adm456.execute-api.us-east-1.amazonaws.com"
    qs = {}
    for part in filter(None, query.split("&")):
        k, _, v = part.partition("=")
        qs.setdefault(k, v)
    identity = {"sourceIp": "203.0.113.10", "userAgent": agent}
    if iam_account:
        identity.update({
            "accountId": iam_account,
            "accessKey": "AKIAIOSFODNN7EXAMPLE",
            "caller": "AIDACKCEVSQ6C2EXAMPLE",
            "user": "AIDACKCEVSQ6C2EXAMPLE",
            "userArn": f"arn:aws:iam::{iam_account}:user/procurement-admin",
        })
    headers = {"content-type": content_type, "host": host, "user-agent": agent, "x-forwarded-proto": "https"}
    return {
        "resource": "/admin/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": qs or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in qs.items()} or None,
        "pathParameters": {"proxy": path[len("/admin/"):]},
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "adm456",
            "domainName": host,
            "domainPrefix": "adm456",
            "httpMethod": method,
            "identity": identity,
            "path": f"/{stage}{path}",
            "protocol": "HTTP/1.1",
            "requestId": "fixture-request",
            "requestTime": "24/Nov/2026:10:00:00 +0000",
            "requestTimeEpoch": 1795514400000,
            "resourceId": "abc123",
            "resourcePath": "/admin/{proxy+}",
            "stage": stage,
        },
        "body": body,
        "isBase64Encoded": False,
    }

def write(name, event):
    path = ROOT / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(event, indent=2) + "\n")

write("punchout-setup/coupa-setup-request.json", http_event("POST", "/punchout/setup", doc("1795514400.1@coupa.example", COUPA_SETUP)))
write("punchout-setup/coupa-setup-request-ruby-timestamp.json", http_event("POST", "/punchout/setup", doc("1795514400.2@coupa.example", COUPA_SETUP, timestamp="Tue Nov 24 10:00:00 +0000 2026")))
write("punchout-setup/ariba-network-setup-request.json", http_event("POST", "/punchout/setup", network_doc("1795514400.30@ariba.example", ARIBA_SETUP), agent="Ariba Buyer 14s2"))
write("punchout-setup/ariba-network-setup-request-selected-item.json", http_event("POST", "/punchout/setup", network_doc("1795514400.3@ariba.example", ARIBA_SETUP_SELECTED), agent="Ariba Buyer 14s2"))
write("punchout-setup/ariba-network-setup-request-test-anid.json", http_event("POST", "/punchout/setup", network_doc("1795514400.31@ariba.example", ARIBA_SETUP, buyer_anid=ARIBA_TEST_ANID), agent="Ariba Buyer 14s2"))
write("punchout-setup/ariba-network-wrong-secret.json", http_event("POST", "/punchout/setup", network_doc("1795514400.32@ariba.example", ARIBA_SETUP, secret="guessed"), agent="Ariba Buyer 14s2"))
write("punchout-setup/ariba-network-unknown-buyer.json", http_event("POST", "/punchout/setup", network_doc("1795514400.33@ariba.example", ARIBA_SETUP, buyer_anid="AN09999999999"), agent="Ariba Buyer 14s2"))
# Edit and inspect (Coupa's punchout site "supports-edit"/"supports-inspect"): the cart we
# returned comes back as ItemOut lines carrying our quote ID as SupplierPartAuxiliaryID.
REOPENED_LINE = """      <ItemOut quantity="1" lineNumber="1">
        <ItemID>
          <SupplierPartID>prod-saas-upfront</SupplierPartID>
          <SupplierPartAuxiliaryID>quote-0001</SupplierPartAuxiliaryID>
        </ItemID>
        <ItemDetail>
          <UnitPrice>
            <Money currency="USD">12000.00</Money>
          </UnitPrice>
          <Description xml:lang="en">Ledgerly Analytics, 12 months</Description>
          <UnitOfMeasure>EA</UnitOfMeasure>
          <Classification domain="UNSPSC">81162000</Classification>
        </ItemDetail>
      </ItemOut>
"""
def reopening(operation):
    return COUPA_SETUP.replace('operation="create"', f'operation="{operation}"').replace(
        "    </PunchOutSetupRequest>", REOPENED_LINE + "    </PunchOutSetupRequest>")
write("punchout-setup/coupa-edit-setup-request.json", http_event("POST", "/punchout/setup", doc("1795514400.8@coupa.example", reopening("edit"))))
write("punchout-setup/coupa-inspect-setup-request.json", http_event("POST", "/punchout/setup", doc("1795514400.9@coupa.example", reopening("inspect"))))
write("punchout-setup/coupa-profile-request.json", http_event("POST", "/punchout/setup", doc("1795514400.4@coupa.example", PROFILE)))
write("punchout-setup/wrong-shared-secret.json", http_event("POST", "/punchout/setup", doc("1795514400.5@coupa.example", COUPA_SETUP, secret="guessed")))
write("punchout-setup/unknown-sender.json", http_event("POST", "/punchout/setup", doc("1795514400.6@x.example", COUPA_SETUP, party=("DUNS", "stranger", "x"))))
write("punchout-setup/malformed-xml.json", http_event("POST", "/punchout/setup", "<cXML payloadID='x'><Header></cXML>"))
write("punchout-setup/billion-laughs.json", http_event("POST", "/punchout/setup", BILLION_LAUGHS))
write("punchout-setup/order-sent-to-setup-url.json", http_event("POST", "/punchout/setup", doc("1795514400.7@coupa.example", ORDER)))
write("punchout-setup/start-page-unknown-token.json", http_event("GET", "/punchout/start", query="token=" + "0" * 64, content_type="text/html", agent="Mozilla/5.0"))
# Admin API (the admin-api function, behind the REST API): signed by the Coupa demo
# organisation's management account (111111111111), as API Gateway reports the caller.
write("admin-api/admin-get-integration.json", rest_event("GET", "/admin/orgs/demo-coupa-org/integration", iam_account="111111111111"))
COUPA_SETTINGS = json.dumps({
    "system": "coupa", "name": "Demo buyer on Coupa", "description": "Coupa test instance",
    "test_mode": False, "redirect": True, "invoice_url": "https://demo-buyer.coupahost.com/cxml/invoices",
    "preapprove_free": True, "preapprove_byol": False, "form_encoding": "cxml-urlencoded",
    "buyer_domain": "DUNS", "buyer_identity": "coupa-demo-buyer",
})
# The member account (222222222222) may read the settings but not change them.
write("admin-api/admin-put-integration-member-account.json", rest_event("PUT", "/admin/orgs/demo-coupa-org/integration", COUPA_SETTINGS, iam_account="222222222222"))
write("admin-api/admin-put-integration-http-invoice-url.json", rest_event("PUT", "/admin/orgs/demo-coupa-org/integration", COUPA_SETTINGS.replace("https://demo-buyer", "http://demo-buyer"), iam_account="111111111111"))
# Invoice settings as Coupa needs them (Compass "Sample cXML Invoice with Payment Terms",
# "Sample cXML Invoices with Taxes", "Selecting Your Remit-To Address"): a German VAT of 19 %,
# remit-to with Coupa's remit-to code, the supplier's VAT id; and a rate Coupa cannot map.
INVOICING = {
    "payment_term_days": 45, "payment_term_code": "Net 45",
    "tax": {"category": "vat", "rate_percent": "19", "description": "VAT 19%"},
    "remit_to": {"name": "Marketplace Seller GmbH", "code": "RT-0042", "street": ["Friedrichstraße 68"],
                 "city": "Berlin", "postal_code": "10117", "country_code": "DE", "country": "Germany"},
    "supplier_tax_id": {"prefix": "DE", "number": "DE123456789"},
}
COUPA_SETTINGS_INVOICING = json.dumps({**json.loads(COUPA_SETTINGS), "invoicing": INVOICING})
COUPA_SETTINGS_BAD_TAX = json.dumps({**json.loads(COUPA_SETTINGS), "invoicing": {**INVOICING, "tax": {"category": "vat", "rate_percent": "119"}}})
write("admin-api/admin-put-integration-invoicing-bad-tax-rate.json", rest_event("PUT", "/admin/orgs/demo-coupa-org/integration", COUPA_SETTINGS_BAD_TAX, iam_account="111111111111"))
write("admin-api/admin-put-integration-invoicing.json", rest_event("PUT", "/admin/orgs/demo-coupa-org/integration", COUPA_SETTINGS_INVOICING, iam_account="111111111111"))
write("admin-api/admin-put-integration.json", rest_event("PUT", "/admin/orgs/demo-coupa-org/integration", COUPA_SETTINGS, iam_account="111111111111"))
write("admin-api/admin-rotate-secret.json", rest_event("POST", "/admin/orgs/demo-coupa-org/integration/secret", iam_account="111111111111"))
# Coupa Open Buy (Open Buy API Reference): JSON POSTs under /openbuy. Authentication takes the
# buyer credential and shared secret; the other actions carry the token it returned as
# `Authorization: Bearer <token>`. Tokens live 30 minutes, so the fixtures hold the placeholder
# OPENBUY_TOKEN: the fixture test (and whoever invokes them by hand) puts a fresh token there.
OPENBUY = dict(content_type="application/json", agent="Coupa Open Buy", route_key="ANY /openbuy/{proxy+}")
BEARER = {"authorization": "Bearer OPENBUY_TOKEN"}
def openbuy(name, action, body, headers=None):
    write(f"punchout-setup/{name}.json", http_event("POST", f"/openbuy/{action}/v1.0.0", json.dumps(body), headers=headers, **OPENBUY))
openbuy("openbuy-authentication", "authentication", {"credentials": f"{COUPA[0]}/{COUPA[1]}:{COUPA[2]}", "email": "jim.halpert@buyer.example"})
openbuy("openbuy-authentication-wrong-secret", "authentication", {"credentials": f"{COUPA[0]}/{COUPA[1]}:guessed", "email": "jim.halpert@buyer.example"})
openbuy("openbuy-authentication-missing-credentials", "authentication", {"email": "jim.halpert@buyer.example"})
openbuy("openbuy-search", "search", {"query": "analytics", "page_number": 1}, BEARER)
openbuy("openbuy-search-unknown-token", "search", {"query": "analytics"}, {"authorization": "Bearer " + "0" * 64})
openbuy("openbuy-detail", "detail", {"source_part_num": "prod-saas-upfront"}, BEARER)
openbuy("openbuy-checkout", "checkout", {"source_part_num": "prod-saas-private", "quantity": 1}, BEARER)
# Request approval pressed in a session that has ended (the token is no longer known).
write("punchout-setup/request-approval-expired-session.json", http_event("POST", "/catalog/request-approval", "token=" + "0" * 64 + "&product_id=prod-saas-upfront", content_type="application/x-www-form-urlencoded", agent="Mozilla/5.0"))
write("order-request/coupa-order-request.json", http_event("POST", "/order", doc("1795514500.1@coupa.example", ORDER)))
write("order-request/ariba-network-order-request.json", http_event("POST", "/order", network_doc("1795514500.2@ariba.example", ORDER.replace("PO-4711", "PO-ARIBA-1").replace("quote-0001", "quote-0002")), agent="Ariba Buyer 14s2"))
write("order-request/missing-shared-secret.json", http_event("POST", "/order", doc("1795514500.3@coupa.example", ORDER, secret="")))
write("order-request/setup-request-sent-to-order-url.json", http_event("POST", "/order", doc("1795514500.4@coupa.example", COUPA_SETUP)))
# Compass "PO failed: 5xx or 4xx error response": the buyer fixes a refused PO and resends it,
# often as type="update" of the same orderID (new payloadID, DocumentReference to the first).
WRONG_QUANTITY = ORDER.replace("PO-4711", "PO-4712").replace('<ItemOut quantity="1"', '<ItemOut quantity="2"').replace(
    "<Money currency=\"USD\">12000.00</Money>\n        </Total>", "<Money currency=\"USD\">24000.00</Money>\n        </Total>")
CORRECTED = ORDER.replace("PO-4711", "PO-4712").replace('type="new">', 'type="update">').replace(
    "      </OrderRequestHeader>", "        <DocumentReference payloadID=\"1795514500.5@coupa.example\"/>\n      </OrderRequestHeader>")
write("order-request/coupa-order-request-wrong-quantity.json", http_event("POST", "/order", doc("1795514500.5@coupa.example", WRONG_QUANTITY)))
write("order-request/coupa-order-request-corrected-resent-as-update.json", http_event("POST", "/order", doc("1795514500.6@coupa.example", CORRECTED)))
write("order-request/empty-body.json", http_event("POST", "/order", ""))

# An invoice message names the charge only; invoice-dispatch reads the charge from the table.
job = {"charge_id": "agr-0001-upfront"}
def sqs_record(message_id, body, receive_count=1):
    return {
        "messageId": message_id,
        "receiptHandle": f"receipt-{message_id}",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "1795514400000",
            "SenderId": "AROAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1795514400100",
        },
        "messageAttributes": {},
        "md5OfBody": "0" * 32,
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:procurement-invoices",
        "awsRegion": "us-east-1",
    }
write("invoice-dispatch/sqs-batch.json", {"Records": [sqs_record("msg-valid-1", json.dumps(job)), sqs_record("msg-malformed-2", "{not json", 3)]})
# A pre-approved subscription's job names its quote; invoice-dispatch writes the agreement.
write("invoice-dispatch/sqs-subscription-job.json", {"Records": [sqs_record("msg-subscription-1", json.dumps({"subscription_quote_id": "q-4b1f0c2e9d8a7b6c5d4e3f2a1b0c9d8e"}))]})
write("offer-expiry-check/scheduled.json", {
    "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event", "source": "aws.events",
    "account": "123456789012", "time": "2026-11-24T10:00:00Z", "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/procurement-offer-expiry-check"], "detail": {},
})
print("events written to", ROOT)
