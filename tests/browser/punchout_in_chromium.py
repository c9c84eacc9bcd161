#!/usr/bin/env python3
"""Browser test: Coupa and SAP Ariba users' punchouts in headless Chromium, against the local stack.

Starts where the procurement system starts (a PunchOutSetupRequest: Coupa's own, or one shaped
as the Ariba Network relays it), opens the StartPage in Chromium, searches, opens the product,
presses Request approval, and lets the hand-off page post the cart to a local buyer endpoint
(standing in for the BrowserFormPost URL). The cart that arrives is decoded (cxml-urlencoded
for Coupa, cxml-base64 for Ariba) and checked: DTD-valid, buyer cookie echoed, price and UNSPSC
right, and a product named in é, ü, ß and 日本語 arrives byte for byte. Then the Coupa hand-off
with JavaScript off, through the visible button.

Run by `make e2e` (scripts/e2e.sh) while its stack is up. Needs Debian's chromium and
chromium-driver (scripts/ensure-tools.sh browser) and selenium (scripts/requirements.txt).
Environment: LOCAL_DIR (the stack's state directory, for stack.env).
"""
import base64
import http.server
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

ROOT = pathlib.Path(__file__).resolve().parents[2]
DTD = ROOT.parent / "shared" / "cxml" / "dtd" / "1.2.069" / "cXML.dtd"
LOCAL_DIR = pathlib.Path(os.environ.get("LOCAL_DIR", ROOT / ".local"))


def stack_env() -> dict:
    env = {}
    for line in (LOCAL_DIR / "stack.env").read_text().splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            env[k.strip()] = v.strip()
    return env


class Buyer(http.server.BaseHTTPRequestHandler):
    """Coupa's BrowserFormPost endpoint: records what the browser posts."""

    received: list = []
    arrived = threading.Event()

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length)
        Buyer.received.append((self.path, self.headers.get("content-type", ""), body))
        Buyer.arrived.set()
        page = b"<!doctype html><html lang=en><title>Coupa</title><h1>Cart received</h1></html>"
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, *args):
        pass


# The demo product whose names are not ASCII (procurement::demo::INTERNATIONAL_*).
INTERNATIONAL = ("prod-saas-intl", "Café Übersetzer Straße 日本語", "Müller & Söhne 株式会社")
LEDGERLY = ("prod-saas-upfront", "Ledgerly Analytics", "Ledgerly")


def header(system: str) -> str:
    """The Header each system sends: Coupa as itself; Ariba through the Network, whose Sender is
    AribaNetworkUserId/sysadmin@ariba.com with the supplier's shared secret (seed.json)."""
    if system == "coupa":
        seed = json.loads((LOCAL_DIR / "seed.json").read_text())["coupa"]
        return f"""<Header>
    <From><Credential domain="{seed['domain']}"><Identity>{seed['identity']}</Identity></Credential></From>
    <To><Credential domain="NetworkID"><Identity>marketplace</Identity></Credential></To>
    <Sender><Credential domain="{seed['domain']}"><Identity>{seed['identity']}</Identity><SharedSecret>{seed['shared_secret']}</SharedSecret></Credential>
      <UserAgent>Coupa Procurement 1.0</UserAgent></Sender>
  </Header>"""
    network = json.loads((LOCAL_DIR / "seed.json").read_text())["ariba_network"]
    buyer = network["buyers"][0]
    return f"""<Header>
    <From><Credential domain="NetworkId"><Identity>{buyer['anid']}</Identity></Credential>
      <Credential domain="SystemID"><Identity>browser-test-erp</Identity></Credential></From>
    <To><Credential domain="NetworkId"><Identity>{network['supplier_anid']}</Identity></Credential>
      <Credential domain="PrivateId"><Identity>vendor-4711</Identity></Credential></To>
    <Sender><Credential domain="{network['sender_domain']}"><Identity>{network['sender_identity']}</Identity><SharedSecret>{network['shared_secret']}</SharedSecret></Credential>
      <UserAgent>Buyer 14s2</UserAgent></Sender>
  </Header>"""


def setup_request(api: str, cookie: str, form_post: str, system: str) -> str:
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.014/cXML.dtd">
<cXML payloadID="{uuid.uuid4()}@{system}.browser-test" timestamp="{time.strftime('%Y-%m-%dT%H:%M:%S+00:00', time.gmtime())}" xml:lang="en-US">
  {header(system)}
  <Request deploymentMode="test">
    <PunchOutSetupRequest operation="create">
      <BuyerCookie>{cookie}</BuyerCookie>
      <Extrinsic name="UserEmail">pam.beesly@buyer.example</Extrinsic>
      <BrowserFormPost><URL>{form_post}</URL></BrowserFormPost>
    </PunchOutSetupRequest>
  </Request>
</cXML>"""
    req = urllib.request.Request(
        f"{api}/punchout/setup", data=xml.encode(), headers={"content-type": "text/xml"}, method="POST"
    )
    with urllib.request.urlopen(req, timeout=120) as r:
        answer = ET.fromstring(r.read())
    url = answer.find(".//StartPage/URL")
    assert url is not None and url.text, "no StartPage in the setup response"
    return url.text.strip()


def browser(javascript: bool) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2}
        )
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def cart_xml(body: bytes, system: str) -> bytes:
    """The cXML bytes out of the posted form: Coupa's demo posts cxml-urlencoded, Ariba's
    cxml-base64 (each system's default)."""
    fields = urllib.parse.parse_qs(body.decode("ascii"))
    if system == "coupa":
        assert "cxml-urlencoded" in fields, f"the Coupa demo posts cxml-urlencoded, got {list(fields)}"
        return fields["cxml-urlencoded"][0].encode("utf-8")
    assert "cxml-base64" in fields, f"the Ariba demo posts cxml-base64, got {list(fields)}"
    return base64.b64decode(fields["cxml-base64"][0], validate=True)


def check_cart(body: bytes, cookie: str, system: str, product: tuple) -> None:
    product_id, title, vendor = product
    xml = cart_xml(body, system)
    with tempfile.NamedTemporaryFile("wb", suffix=".xml", delete=False) as f:
        f.write(xml)
    lint = subprocess.run(
        ["xmllint", "--noout", "--nonet", "--dtdvalid", str(DTD), f.name], capture_output=True, text=True
    )
    assert lint.returncode == 0, f"cart is not DTD-valid: {lint.stderr}\n{xml}"
    doc = ET.fromstring(xml)
    assert doc.findtext(".//BuyerCookie") == cookie, "buyer cookie not echoed"
    assert doc.find(".//Message").get("deploymentMode") == "test", "demo integration is in test mode"
    item = doc.find(".//ItemIn")
    assert item.findtext("ItemID/SupplierPartID") == product_id
    assert item.findtext("ItemID/SupplierPartAuxiliaryID", "").startswith("q-")
    assert item.find("ItemDetail/Classification[@domain='UNSPSC']").text == "81162000"
    # The names exactly as the catalog holds them, the product and its term first.
    description = item.find("ItemDetail/Description")
    assert description.findtext("ShortName") == title, description.findtext("ShortName")
    # Description's own text, around its ShortName child.
    text = ((description.text or "") + "".join(child.tail or "" for child in description)).strip()
    assert text.startswith(f"{title}: 12-month contract"), text
    assert item.findtext("ItemDetail/ManufacturerName") == vendor
    if product == LEDGERLY:
        money = item.find("ItemDetail/UnitPrice/Money")
        assert (money.get("currency"), money.text) == ("USD", "12000.00"), (money.get("currency"), money.text)


def punch_out(api: str, buyer_url: str, javascript: bool, system: str, product: tuple, query: str) -> None:
    product_id, title, _ = product
    cookie = f"browser-{uuid.uuid4().hex[:12]}"
    start = setup_request(api, cookie, buyer_url, system)
    Buyer.received.clear()
    Buyer.arrived.clear()
    driver = browser(javascript)
    try:
        wait = WebDriverWait(driver, 120)
        driver.get(start)
        assert driver.find_element(By.CSS_SELECTOR, "html").get_attribute("lang"), "page language"
        search = wait.until(EC.presence_of_element_located((By.NAME, "q")))
        search.clear()
        search.send_keys(query)
        search.submit()
        link = wait.until(
            EC.element_to_be_clickable((By.CSS_SELECTOR, f"a[href*='/catalog/products/{product_id}']"))
        )
        link.click()
        # The product page shows the name as the catalog holds it.
        wait.until(EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), title))
        button = wait.until(
            EC.element_to_be_clickable(
                (By.CSS_SELECTOR, "form[action$='/catalog/request-approval'] button[type=submit]")
            )
        )
        button.click()
        if not javascript:
            # Scripts off: the hand-off page shows its button; the user presses it.
            wait.until(
                EC.element_to_be_clickable((By.CSS_SELECTOR, f"form[action='{buyer_url}'] button[type=submit]"))
            ).click()
        assert Buyer.arrived.wait(120), f"no cart arrived at the buyer endpoint; the browser shows {driver.current_url}:\n{driver.page_source[:3000]}"
    finally:
        driver.quit()
    path, content_type, body = Buyer.received[0]
    assert content_type.startswith("application/x-www-form-urlencoded"), content_type
    check_cart(body, cookie, system, product)
    print(f"ok: {system} cart for {title} delivered by Chromium with JavaScript {'on' if javascript else 'off'}")


def main() -> int:
    env = stack_env()
    api = env["PUBLIC_BASE_URL"]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Buyer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    buyer_url = f"http://127.0.0.1:{server.server_address[1]}/punchout/checkout"
    try:
        punch_out(api, buyer_url, True, "coupa", LEDGERLY, "Ledgerly")
        punch_out(api, buyer_url, False, "coupa", LEDGERLY, "Ledgerly")
        # Typed into the search box in Chromium: the query itself travels as UTF-8 too.
        punch_out(api, buyer_url, True, "coupa", INTERNATIONAL, "Straße")
        punch_out(api, buyer_url, True, "ariba", INTERNATIONAL, "日本語")
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
