//! The admin API against the demo world: who may do what, what the settings accept, and that
//! the secret it hands out is the one the punchout setup URL then accepts.

mod support;

use procurement::demo;
use procurement::fakes::FakeWorld;
use procurement::model::{Organization, SystemSettings};
use serde_json::{Value, json};
use support::{Reply, handle_setup, id};

/// An organisation without an integration yet, added to the demo world.
const NEW_ORG: &str = "acme-org";
const NEW_MANAGEMENT_ACCOUNT: &str = "444444444444";
const NEW_MEMBER_ACCOUNT: &str = "555555555555";

async fn world() -> FakeWorld {
    let world = FakeWorld::demo().await;
    world
        .deps
        .organizations
        .put(&Organization {
            org_id: NEW_ORG.into(),
            name: "Acme".into(),
            management_account_id: NEW_MANAGEMENT_ACCOUNT.into(),
            member_account_ids: vec![NEW_MEMBER_ACCOUNT.into()],
            private_marketplace: None,
        })
        .await
        .unwrap();
    world
}

fn integration_path(org: &str) -> String {
    format!("/admin/orgs/{org}/integration")
}

fn secret_path(org: &str) -> String {
    format!("/admin/orgs/{org}/integration/secret")
}

async fn call(
    world: &FakeWorld,
    method: &str,
    path: &str,
    account: Option<&str>,
    body: Option<&Value>,
) -> (Reply, Value) {
    let reply = support::admin(world, method, path, account, body).await;
    assert_eq!(reply.content_type(), "application/json");
    let json: Value = serde_json::from_str(&reply.body)
        .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {}", reply.body));
    (reply, json)
}

fn error_message(json: &Value) -> &str {
    json["error"]["message"].as_str().unwrap_or_default()
}

fn no_store(reply: &Reply) -> bool {
    reply.header("cache-control") == Some("no-store")
}

fn acme_coupa() -> Value {
    json!({
        "system": "coupa",
        "name": "Acme on Coupa",
        "description": "Acme's Coupa instance",
        "invoice_url": "https://acme.coupahost.com/cxml/invoices",
        "buyer_domain": "DUNS",
        "buyer_identity": "acme-coupa",
    })
}

/// A PunchOutSetupRequest as Coupa sends it, From and Sender the same credential.
fn setup_request(domain: &str, identity: &str, secret: &str) -> Vec<u8> {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.014/cXML.dtd">
<cXML payloadID="1795514400.99@buyer.example" timestamp="2026-11-24T10:00:00+00:00" xml:lang="en-US">
  <Header>
    <From><Credential domain="{domain}"><Identity>{identity}</Identity></Credential></From>
    <To><Credential domain="NetworkID"><Identity>marketplace</Identity></Credential></To>
    <Sender>
      <Credential domain="{domain}"><Identity>{identity}</Identity><SharedSecret>{secret}</SharedSecret></Credential>
      <UserAgent>Coupa Procurement 1.0</UserAgent>
    </Sender>
  </Header>
  <Request>
    <PunchOutSetupRequest operation="create">
      <BuyerCookie>admin-test-cookie</BuyerCookie>
      <BrowserFormPost><URL>https://buyer.example/punchout/checkout</URL></BrowserFormPost>
    </PunchOutSetupRequest>
  </Request>
</cXML>
"#
    )
    .into_bytes()
}

async fn setup_status(world: &FakeWorld, domain: &str, identity: &str, secret: &str) -> u16 {
    handle_setup(world, &setup_request(domain, identity, secret))
        .await
        .status
}

/// Creates the Acme integration and returns the secret the response showed.
async fn create_acme(world: &FakeWorld, settings: &Value) -> String {
    let (reply, json) = call(
        world,
        "PUT",
        &integration_path(NEW_ORG),
        Some(NEW_MANAGEMENT_ACCOUNT),
        Some(settings),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    json["purchase_information"]["shared_secret"]
        .as_str()
        .expect("a new integration shows its secret")
        .to_string()
}

#[tokio::test]
async fn create_shows_the_secret_once_and_get_never_shows_it() {
    let world = world().await;
    let (reply, json) = call(
        &world,
        "PUT",
        &integration_path(NEW_ORG),
        Some(NEW_MANAGEMENT_ACCOUNT),
        Some(&acme_coupa()),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert!(no_store(&reply), "a reply with a secret must not be cached");
    let secret = json["purchase_information"]["shared_secret"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(secret.len(), 64);
    assert!(secret.bytes().all(|b| b.is_ascii_hexdigit()));

    let info = &json["purchase_information"];
    assert_eq!(
        info["punchout_setup_url"],
        "https://api.marketplace.example/punchout/setup"
    );
    assert_eq!(info["order_url"], "https://api.marketplace.example/order");
    assert_eq!(info["supplier_domain"], "NetworkID");
    assert_eq!(info["supplier_identity"], "marketplace");
    assert_eq!(info["buyer_domain"], "DUNS");
    assert_eq!(info["buyer_identity"], "acme-coupa");

    // Only the digest is kept.
    let stored = world
        .deps
        .integrations
        .get(&id(NEW_ORG))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(stored.secret_digest, secret);
    assert_eq!(
        stored.secret_digest,
        cxml::SecretDigest::of(&secret).to_hex()
    );
    assert!(!reply.body.contains(&stored.secret_digest));

    for account in [NEW_MANAGEMENT_ACCOUNT, NEW_MEMBER_ACCOUNT] {
        let (reply, json) = call(
            &world,
            "GET",
            &integration_path(NEW_ORG),
            Some(account),
            None,
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert!(!reply.body.contains(&secret), "GET showed the secret");
        assert!(
            !reply.body.contains(&stored.secret_digest),
            "GET showed the digest"
        );
        assert!(!reply.body.contains("shared_secret") && !reply.body.contains("secret_digest"));
        assert_eq!(json["settings"]["name"], "Acme on Coupa");
        assert_eq!(json["purchase_information"]["buyer_identity"], "acme-coupa");
    }

    // A second PUT updates: the secret stays and is not shown again.
    let mut renamed = acme_coupa();
    renamed["name"] = json!("Acme (renamed)");
    let (reply, json) = call(
        &world,
        "PUT",
        &integration_path(NEW_ORG),
        Some(NEW_MANAGEMENT_ACCOUNT),
        Some(&renamed),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(!reply.body.contains("shared_secret"), "{}", reply.body);
    assert_eq!(json["settings"]["name"], "Acme (renamed)");
    assert_eq!(
        setup_status(&world, "DUNS", "acme-coupa", &secret).await,
        200
    );
}

#[tokio::test]
async fn the_new_secret_opens_punchout_and_rotation_retires_the_old_one() {
    let world = world().await;
    let first = create_acme(&world, &acme_coupa()).await;
    assert_eq!(
        setup_status(&world, "DUNS", "acme-coupa", &first).await,
        200
    );
    assert_eq!(
        setup_status(&world, "DUNS", "acme-coupa", "guessed").await,
        401
    );

    let (reply, json) = call(
        &world,
        "POST",
        &secret_path(NEW_ORG),
        Some(NEW_MANAGEMENT_ACCOUNT),
        None,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(no_store(&reply));
    let second = json["purchase_information"]["shared_secret"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(first, second);
    assert_eq!(
        setup_status(&world, "DUNS", "acme-coupa", &first).await,
        401
    );
    assert_eq!(
        setup_status(&world, "DUNS", "acme-coupa", &second).await,
        200
    );
    assert_eq!(
        json["settings"]["name"], "Acme on Coupa",
        "rotation keeps the settings"
    );
}

#[tokio::test]
async fn rotating_the_demo_secret_retires_the_published_one() {
    let world = world().await;
    assert_eq!(
        setup_status(
            &world,
            demo::COUPA_DOMAIN,
            demo::COUPA_IDENTITY,
            demo::COUPA_SECRET
        )
        .await,
        200
    );
    let (reply, json) = call(
        &world,
        "POST",
        &secret_path(demo::COUPA_ORG),
        Some(demo::COUPA_MANAGEMENT_ACCOUNT),
        None,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let secret = json["purchase_information"]["shared_secret"]
        .as_str()
        .unwrap();
    assert_eq!(
        setup_status(
            &world,
            demo::COUPA_DOMAIN,
            demo::COUPA_IDENTITY,
            demo::COUPA_SECRET
        )
        .await,
        401
    );
    assert_eq!(
        setup_status(&world, demo::COUPA_DOMAIN, demo::COUPA_IDENTITY, secret).await,
        200
    );
}

#[tokio::test]
async fn ariba_needs_its_network_id() {
    let world = world().await;
    let doc = json!({"system": "ariba", "name": "Acme on Ariba"});
    let (reply, json) = call(
        &world,
        "PUT",
        &integration_path(NEW_ORG),
        Some(NEW_MANAGEMENT_ACCOUNT),
        Some(&doc),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert!(
        error_message(&json).contains("ariba_network_id"),
        "{}",
        reply.body
    );

    let doc = json!({"system": "ariba", "name": "Acme on Ariba", "ariba_network_id": "acme"});
    let (reply, json) = call(
        &world,
        "PUT",
        &integration_path(NEW_ORG),
        Some(NEW_MANAGEMENT_ACCOUNT),
        Some(&doc),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert!(
        error_message(&json).contains("ariba_network_id"),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn an_ariba_buyer_is_its_anids_and_authenticates_through_the_network() {
    let world = world().await;
    let doc = json!({
        "system": "ariba",
        "name": "Acme on Ariba",
        "ariba_network_id": "AN01000000777",
        "ariba_test_network_id": "AN01000000777-T",
    });
    let (reply, created) = call(
        &world,
        "PUT",
        &integration_path(NEW_ORG),
        Some(NEW_MANAGEMENT_ACCOUNT),
        Some(&doc),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    // No secret of its own: the Network presents the supplier's.
    let info = &created["purchase_information"];
    assert_eq!(info.get("shared_secret"), None, "{info}");
    assert_eq!(info["supplier_anid"], demo::ARIBA_SUPPLIER_ANID);
    assert_eq!(info["buyer_identity"], "AN01000000777");
    assert_eq!(info["buyer_test_identity"], "AN01000000777-T");
    assert_eq!(info["sender_domain"], "AribaNetworkUserId");
    assert!(!reply.body.contains(demo::ARIBA_NETWORK_SECRET));
    let (_, json) = call(
        &world,
        "GET",
        &integration_path(NEW_ORG),
        Some(NEW_MEMBER_ACCOUNT),
        None,
    )
    .await;
    assert_eq!(json["settings"]["ariba_network_id"], "AN01000000777");
    assert_eq!(
        json["settings"]["form_encoding"], "cxml-base64",
        "Ariba's default"
    );
    assert_eq!(json["settings"]["order_confirmations"], true);
    // Both ANIDs open a session, forwarded by the Network with the supplier's secret.
    for anid in ["AN01000000777", "AN01000000777-T"] {
        let xml = support::Setup::ariba()
            .xml()
            .replace(demo::ARIBA_IDENTITY, anid);
        assert_eq!(
            handle_setup(&world, xml.as_bytes()).await.status,
            200,
            "{anid}"
        );
    }
    // The secret belongs to the deployment: nothing to rotate here.
    let (reply, json) = call(
        &world,
        "POST",
        &secret_path(NEW_ORG),
        Some(NEW_MANAGEMENT_ACCOUNT),
        None,
    )
    .await;
    assert_eq!(reply.status, 400);
    assert!(
        error_message(&json).contains("Ariba Network"),
        "{}",
        reply.body
    );

    for (field, value) in [
        ("invoice_url", json!("https://x.example")),
        ("buyer_domain", json!("NetworkID")),
        ("sender_identity", json!("sysadmin@ariba.com")),
    ] {
        let mut doc = json!({"system": "ariba", "name": "x", "ariba_network_id": "AN0100"});
        doc[field] = value;
        let (reply, json) = call(
            &world,
            "PUT",
            &integration_path(NEW_ORG),
            Some(NEW_MANAGEMENT_ACCOUNT),
            Some(&doc),
        )
        .await;
        assert_eq!(reply.status, 400);
        assert!(error_message(&json).contains(field), "{}", reply.body);
    }
}

#[tokio::test]
async fn coupa_invoice_url_must_be_https_and_anid_must_be_absent() {
    let world = world().await;
    let mut doc = acme_coupa();
    doc["invoice_url"] = json!("http://acme.coupahost.com/cxml/invoices");
    let (reply, json) = call(
        &world,
        "PUT",
        &integration_path(NEW_ORG),
        Some(NEW_MANAGEMENT_ACCOUNT),
        Some(&doc),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert!(
        error_message(&json).contains("invoice_url"),
        "{}",
        reply.body
    );
    assert!(error_message(&json).contains("https://"), "{}", reply.body);

    let mut doc = acme_coupa();
    doc["ariba_network_id"] = json!("AN01000000001");
    let (reply, json) = call(
        &world,
        "PUT",
        &integration_path(NEW_ORG),
        Some(NEW_MANAGEMENT_ACCOUNT),
        Some(&doc),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert!(
        error_message(&json).contains("ariba_network_id"),
        "{}",
        reply.body
    );
    assert!(
        world
            .deps
            .integrations
            .get(&id(NEW_ORG))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn unknown_fields_and_bad_values_are_refused_by_name() {
    let world = world().await;
    let cases = [
        ("colour", json!("red"), "colour"),
        ("test_mode", json!("yes"), "test_mode"),
        ("system", json!("sap"), "system"),
        ("name", json!(""), "name"),
        ("description", json!("d".repeat(501)), "description"),
        ("form_encoding", json!("xml"), "form_encoding"),
    ];
    for (field, value, named) in cases {
        let mut doc = acme_coupa();
        doc[field] = value;
        let (reply, json) = call(
            &world,
            "PUT",
            &integration_path(NEW_ORG),
            Some(NEW_MANAGEMENT_ACCOUNT),
            Some(&doc),
        )
        .await;
        assert_eq!(reply.status, 400, "{field}: {}", reply.body);
        assert!(
            error_message(&json).contains(named),
            "{field}: {}",
            reply.body
        );
    }
    let mut doc = acme_coupa();
    doc.as_object_mut().unwrap().remove("name");
    let (reply, json) = call(
        &world,
        "PUT",
        &integration_path(NEW_ORG),
        Some(NEW_MANAGEMENT_ACCOUNT),
        Some(&doc),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert!(error_message(&json).contains("name"), "{}", reply.body);

    let app = support::admin_app(&world);
    let put = |body: String| {
        procurement_web::testing::rest_api_event(
            "PUT",
            &integration_path(NEW_ORG),
            "",
            "application/json",
            Some(&body),
            Some(NEW_MANAGEMENT_ACCOUNT),
        )
    };
    let reply = procurement_web::testing::send_event(&app, &put("system=coupa".to_string())).await;
    assert_eq!(reply.status, 400);
    assert!(reply.body.contains("not valid JSON"), "{}", reply.body);

    let huge = " ".repeat(procurement::settings::MAX_DOCUMENT_BYTES + 1);
    assert_eq!(
        procurement_web::testing::send_event(&app, &put(huge))
            .await
            .status,
        413
    );
    assert!(
        world
            .deps
            .integrations
            .get(&id(NEW_ORG))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn test_mode_and_enabled_default_to_true() {
    let world = world().await;
    let doc = json!({"system": "coupa", "name": "Minimal", "buyer_domain": "DUNS", "buyer_identity": "acme-min"});
    create_acme(&world, &doc).await;
    let stored = world
        .deps
        .integrations
        .get(&id(NEW_ORG))
        .await
        .unwrap()
        .unwrap();
    let settings = &stored.settings;
    assert!(
        settings.test_mode,
        "test mode protects the buyer until they switch it off"
    );
    assert!(settings.enabled);
    assert!(!settings.redirect && !settings.preapprove_free && !settings.preapprove_byol);
    assert_eq!(settings.form_encoding, cxml::FormEncoding::UrlEncoded);
    let credentials = settings.coupa_credentials().unwrap();
    assert_eq!(
        (
            credentials.sender_domain.as_str(),
            credentials.sender_identity.as_str()
        ),
        ("DUNS", "acme-min")
    );
    assert_eq!(settings.description, "");
    assert!(matches!(
        &settings.system,
        SystemSettings::Coupa(coupa) if coupa.invoice_url.is_none()
    ));
}

#[tokio::test]
async fn members_may_read_but_only_the_management_account_may_change() {
    let world = world().await;
    let path = integration_path(demo::COUPA_ORG);
    let (reply, _) = call(&world, "GET", &path, Some(demo::COUPA_MEMBER_ACCOUNT), None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);

    let mut doc = acme_coupa();
    doc["buyer_identity"] = json!(demo::COUPA_IDENTITY);
    let (reply, json) = call(
        &world,
        "PUT",
        &path,
        Some(demo::COUPA_MEMBER_ACCOUNT),
        Some(&doc),
    )
    .await;
    assert_eq!(reply.status, 403);
    let message = error_message(&json);
    assert!(
        message.contains(demo::COUPA_MANAGEMENT_ACCOUNT) && message.contains(demo::COUPA_ORG),
        "{message}"
    );
    let (reply, _) = call(
        &world,
        "POST",
        &secret_path(demo::COUPA_ORG),
        Some(demo::COUPA_MEMBER_ACCOUNT),
        None,
    )
    .await;
    assert_eq!(reply.status, 403);
    assert_eq!(
        setup_status(
            &world,
            demo::COUPA_DOMAIN,
            demo::COUPA_IDENTITY,
            demo::COUPA_SECRET
        )
        .await,
        200,
        "a refused change changes nothing"
    );

    // The management account of another organisation is a stranger here.
    let (reply, json) = call(
        &world,
        "GET",
        &path,
        Some(demo::ARIBA_MANAGEMENT_ACCOUNT),
        None,
    )
    .await;
    assert_eq!(reply.status, 403);
    assert!(error_message(&json).contains(demo::ARIBA_MANAGEMENT_ACCOUNT));
    let (reply, _) = call(
        &world,
        "PUT",
        &path,
        Some(demo::ARIBA_MANAGEMENT_ACCOUNT),
        Some(&doc),
    )
    .await;
    assert_eq!(reply.status, 403);

    let (reply, _) = call(
        &world,
        "PUT",
        &path,
        Some(demo::COUPA_MANAGEMENT_ACCOUNT),
        Some(&doc),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn unsigned_requests_get_401() {
    let world = world().await;
    for (method, path) in [
        ("GET", integration_path(demo::COUPA_ORG)),
        ("PUT", integration_path(demo::COUPA_ORG)),
        ("POST", secret_path(demo::COUPA_ORG)),
    ] {
        let (reply, json) = call(&world, method, &path, None, Some(&acme_coupa())).await;
        assert_eq!(reply.status, 401, "{method} {path}");
        assert!(error_message(&json).contains("SigV4"), "{}", reply.body);
    }
    let (reply, _) = call(
        &world,
        "GET",
        &integration_path(demo::COUPA_ORG),
        Some(""),
        None,
    )
    .await;
    assert_eq!(reply.status, 401);
}

#[tokio::test]
async fn unknown_orgs_paths_and_methods() {
    let world = world().await;
    let (reply, _) = call(
        &world,
        "GET",
        &integration_path("no-such-org"),
        Some(demo::COUPA_MANAGEMENT_ACCOUNT),
        None,
    )
    .await;
    assert_eq!(reply.status, 404);
    let (reply, json) = call(
        &world,
        "GET",
        &integration_path(NEW_ORG),
        Some(NEW_MANAGEMENT_ACCOUNT),
        None,
    )
    .await;
    assert_eq!(reply.status, 404, "no integration yet");
    assert!(error_message(&json).contains("no procurement integration yet"));
    let (reply, _) = call(
        &world,
        "POST",
        &secret_path(NEW_ORG),
        Some(NEW_MANAGEMENT_ACCOUNT),
        None,
    )
    .await;
    assert_eq!(reply.status, 404, "nothing to rotate yet");

    for (method, path, allow) in [
        ("DELETE", integration_path(demo::COUPA_ORG), "GET, PUT"),
        ("POST", integration_path(demo::COUPA_ORG), "GET, PUT"),
        ("GET", secret_path(demo::COUPA_ORG), "POST"),
    ] {
        let (reply, _) = call(
            &world,
            method,
            &path,
            Some(demo::COUPA_MANAGEMENT_ACCOUNT),
            None,
        )
        .await;
        assert_eq!(reply.status, 405, "{method} {path}");
        assert_eq!(reply.header("allow"), Some(allow));
    }
    for path in [
        "/admin/",
        "/admin/orgs",
        "/admin/orgs/demo-coupa-org",
        "/admin/orgs/demo-coupa-org/integration/other",
    ] {
        let (reply, _) = call(
            &world,
            "GET",
            path,
            Some(demo::COUPA_MANAGEMENT_ACCOUNT),
            None,
        )
        .await;
        assert_eq!(reply.status, 404, "{path}");
    }
}

#[tokio::test]
async fn a_buyer_credential_belongs_to_one_organisation() {
    let world = world().await;
    let mut doc = acme_coupa();
    doc["buyer_identity"] = json!(demo::COUPA_IDENTITY);
    let (reply, json) = call(
        &world,
        "PUT",
        &integration_path(NEW_ORG),
        Some(NEW_MANAGEMENT_ACCOUNT),
        Some(&doc),
    )
    .await;
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert!(error_message(&json).contains("buyer_identity"));
    assert!(
        world
            .deps
            .integrations
            .get(&id(NEW_ORG))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn disabling_refuses_punchout_and_re_enabling_restores_it() {
    let world = world().await;
    let mut doc = acme_coupa();
    doc["test_mode"] = json!(false);
    doc["preapprove_free"] = json!(true);
    let secret = create_acme(&world, &doc).await;
    let (_, before) = call(
        &world,
        "GET",
        &integration_path(NEW_ORG),
        Some(NEW_MANAGEMENT_ACCOUNT),
        None,
    )
    .await;

    doc["enabled"] = json!(false);
    let (reply, json) = call(
        &world,
        "PUT",
        &integration_path(NEW_ORG),
        Some(NEW_MANAGEMENT_ACCOUNT),
        Some(&doc),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(json["settings"]["enabled"], false);
    assert_eq!(
        setup_status(&world, "DUNS", "acme-coupa", &secret).await,
        403
    );

    doc["enabled"] = json!(true);
    let (reply, _) = call(
        &world,
        "PUT",
        &integration_path(NEW_ORG),
        Some(NEW_MANAGEMENT_ACCOUNT),
        Some(&doc),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        setup_status(&world, "DUNS", "acme-coupa", &secret).await,
        200
    );
    let (_, after) = call(
        &world,
        "GET",
        &integration_path(NEW_ORG),
        Some(NEW_MANAGEMENT_ACCOUNT),
        None,
    )
    .await;
    assert_eq!(
        after["settings"], before["settings"],
        "every setting survives"
    );
    assert_eq!(after["settings"]["test_mode"], false);
    assert_eq!(after["settings"]["preapprove_free"], true);
}

#[tokio::test]
async fn get_settings_can_be_put_back_unchanged() {
    let world = world().await;
    let path = integration_path(demo::ARIBA_ORG);
    let (_, before) = call(
        &world,
        "GET",
        &path,
        Some(demo::ARIBA_MANAGEMENT_ACCOUNT),
        None,
    )
    .await;
    let (reply, after) = call(
        &world,
        "PUT",
        &path,
        Some(demo::ARIBA_MANAGEMENT_ACCOUNT),
        Some(&before["settings"]),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(after["settings"], before["settings"]);
    let ariba = support::Setup::ariba().xml();
    assert_eq!(handle_setup(&world, ariba.as_bytes()).await.status, 200);
}

/// Acme with a Coupa test instance beside production, out of test mode.
fn acme_coupa_with_test_instance() -> Value {
    let mut settings = acme_coupa();
    settings["test_mode"] = json!(false);
    settings["test_instance"] = json!({
        "buyer_domain": "DUNS",
        "buyer_identity": "acme-coupa-test",
        "invoice_url": "https://acme-test.coupahost.com/cxml/invoices",
    });
    settings
}

/// A PO from one of Acme's Coupa instances (its own credential set and secret).
async fn order_from(
    world: &FakeWorld,
    identity: &str,
    secret: &str,
    order_id: &str,
    quote_id: &str,
) -> (u16, String, Option<String>) {
    let quote = support::quote_for(world, NEW_ORG, "prod-saas-upfront", quote_id).await;
    let from = cxml::Credential::new("DUNS", identity);
    let mut sender = from.clone();
    sender.shared_secret = Some(cxml::SharedSecret::new(secret));
    let header = cxml::Header {
        from: vec![from],
        to: vec![cxml::Credential::new("NetworkID", "marketplace")],
        sender: vec![sender],
        user_agent: "Coupa Procurement 1.0".into(),
    };
    let body = support::order_request(
        header,
        order_id,
        &format!("{order_id}-{quote_id}@acme"),
        cxml::OrderType::New,
        &[&quote],
    );
    let reply = support::handle_order(world, &body).await;
    let doc = cxml::parse(reply.body.as_bytes()).unwrap();
    let status = doc.response_status().unwrap().clone();
    let stored = world.deps.quotes.get(&id(quote_id)).await.unwrap().unwrap();
    (
        status.code,
        status.text,
        stored.agreement_id.map(|a| a.to_string()),
    )
}

#[tokio::test]
async fn a_coupa_test_instance_has_its_own_credential_set_and_always_runs_in_test_mode() {
    let world = world().await;
    let (reply, json) = call(
        &world,
        "PUT",
        &integration_path(NEW_ORG),
        Some(NEW_MANAGEMENT_ACCOUNT),
        Some(&acme_coupa_with_test_instance()),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert!(no_store(&reply));
    let info = &json["purchase_information"];
    let production = info["shared_secret"].as_str().unwrap().to_string();
    let test = info["test_instance"]["shared_secret"]
        .as_str()
        .expect("the test set's secret is shown once")
        .to_string();
    assert_ne!(production, test, "each set has its own secret");
    assert_eq!(info["buyer_identity"], "acme-coupa");
    assert_eq!(
        info["invoice_url"],
        "https://acme.coupahost.com/cxml/invoices"
    );
    assert_eq!(info["test_instance"]["buyer_identity"], "acme-coupa-test");
    assert_eq!(info["test_instance"]["sender_identity"], "acme-coupa-test");
    assert_eq!(
        info["test_instance"]["invoice_url"],
        "https://acme-test.coupahost.com/cxml/invoices"
    );
    assert_eq!(info["test_instance"]["always_test_mode"], true);

    // Each set opens punchout with its own secret only.
    assert_eq!(
        setup_status(&world, "DUNS", "acme-coupa-test", &test).await,
        200
    );
    assert_eq!(
        setup_status(&world, "DUNS", "acme-coupa-test", &production).await,
        401
    );
    assert_eq!(setup_status(&world, "DUNS", "acme-coupa", &test).await, 401);
    assert_eq!(
        setup_status(&world, "DUNS", "acme-coupa", &production).await,
        200
    );

    // Test mode is off, yet the test instance's PO creates nothing; the production
    // instance's PO of the same number (another system numbers its own) is the order.
    let (code, text, agreement) =
        order_from(&world, "acme-coupa-test", &test, "PO-100", "q-ti-1").await;
    assert_eq!(code, 200, "{text}");
    assert!(text.contains("test"), "{text}");
    assert_eq!(agreement, None);
    let (code, text, agreement) =
        order_from(&world, "acme-coupa", &production, "PO-100", "q-ti-2").await;
    assert_eq!(code, 200, "{text}");
    assert!(agreement.is_some(), "{text}");

    // A read shows both sets and no secret.
    let (reply, json) = call(
        &world,
        "GET",
        &integration_path(NEW_ORG),
        Some(NEW_MEMBER_ACCOUNT),
        None,
    )
    .await;
    assert_eq!(reply.status, 200);
    assert!(!reply.body.contains(&test) && !reply.body.contains(&production));
    assert_eq!(
        json["purchase_information"]["test_instance"]["buyer_identity"],
        "acme-coupa-test"
    );
    assert_eq!(
        json["settings"]["test_instance"]["buyer_identity"],
        "acme-coupa-test"
    );

    // Rotation is per set: the test secret changes, production's stays.
    let (reply, json) = call(
        &world,
        "POST",
        &format!("{}?instance=test", secret_path(NEW_ORG)),
        Some(NEW_MANAGEMENT_ACCOUNT),
        None,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(json["purchase_information"].get("shared_secret").is_none());
    let rotated = json["purchase_information"]["test_instance"]["shared_secret"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        setup_status(&world, "DUNS", "acme-coupa-test", &test).await,
        401
    );
    assert_eq!(
        setup_status(&world, "DUNS", "acme-coupa-test", &rotated).await,
        200
    );
    assert_eq!(
        setup_status(&world, "DUNS", "acme-coupa", &production).await,
        200
    );
    let (reply, json) = call(
        &world,
        "POST",
        &format!("{}?instance=staging", secret_path(NEW_ORG)),
        Some(NEW_MANAGEMENT_ACCOUNT),
        None,
    )
    .await;
    assert_eq!(reply.status, 400);
    assert!(error_message(&json).contains("`instance`"), "{json}");

    // Saved again unchanged, the test set keeps its secret; without it, it is given up.
    let (reply, json) = call(
        &world,
        "PUT",
        &integration_path(NEW_ORG),
        Some(NEW_MANAGEMENT_ACCOUNT),
        Some(&acme_coupa_with_test_instance()),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        json["purchase_information"]["test_instance"]
            .get("shared_secret")
            .is_none()
    );
    assert_eq!(
        setup_status(&world, "DUNS", "acme-coupa-test", &rotated).await,
        200
    );
    let mut production_only = acme_coupa_with_test_instance();
    production_only
        .as_object_mut()
        .unwrap()
        .remove("test_instance");
    let (reply, _) = call(
        &world,
        "PUT",
        &integration_path(NEW_ORG),
        Some(NEW_MANAGEMENT_ACCOUNT),
        Some(&production_only),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        setup_status(&world, "DUNS", "acme-coupa-test", &rotated).await,
        401
    );
    let stored = support::integration(&world, NEW_ORG).await;
    assert_eq!(stored.test_secret_digest, None);
    let (reply, json) = call(
        &world,
        "POST",
        &format!("{}?instance=test", secret_path(NEW_ORG)),
        Some(NEW_MANAGEMENT_ACCOUNT),
        None,
    )
    .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(error_message(&json).contains("test instance"), "{json}");
}

#[tokio::test]
async fn a_test_instance_is_checked_by_field_and_is_coupa_only() {
    let world = world().await;
    let put = |settings: Value| {
        let world = &world;
        async move {
            call(
                world,
                "PUT",
                &integration_path(NEW_ORG),
                Some(NEW_MANAGEMENT_ACCOUNT),
                Some(&settings),
            )
            .await
        }
    };
    let mut same = acme_coupa_with_test_instance();
    same["test_instance"]["buyer_identity"] = json!("acme-coupa");
    let (reply, json) = put(same).await;
    assert_eq!(reply.status, 400);
    assert!(
        error_message(&json).contains("`test_instance.buyer_identity`"),
        "{json}"
    );
    let mut missing = acme_coupa_with_test_instance();
    missing["test_instance"]
        .as_object_mut()
        .unwrap()
        .remove("buyer_domain");
    let (reply, json) = put(missing).await;
    assert_eq!(reply.status, 400);
    assert!(
        error_message(&json).contains("`test_instance.buyer_domain`"),
        "{json}"
    );
    let mut http = acme_coupa_with_test_instance();
    http["test_instance"]["invoice_url"] = json!("http://acme-test.example/cxml/invoices");
    let (reply, json) = put(http).await;
    assert_eq!(reply.status, 400);
    assert!(
        error_message(&json).contains("`test_instance.invoice_url`"),
        "{json}"
    );
    let mut unknown = acme_coupa_with_test_instance();
    unknown["test_instance"]["secret"] = json!("x");
    let (reply, json) = put(unknown).await;
    assert_eq!(reply.status, 400);
    assert!(error_message(&json).contains("secret"), "{json}");
    let (reply, json) = put(json!({
        "system": "ariba", "name": "Acme Ariba", "ariba_network_id": "AN0100000002",
        "test_instance": {"buyer_domain": "DUNS", "buyer_identity": "x"}
    }))
    .await;
    assert_eq!(reply.status, 400);
    assert!(error_message(&json).contains("`test_instance`"), "{json}");
    // The test set's credential is claimed like the production one.
    let mut taken = acme_coupa_with_test_instance();
    taken["test_instance"]["buyer_domain"] = json!(demo::COUPA_DOMAIN);
    taken["test_instance"]["buyer_identity"] = json!(demo::COUPA_IDENTITY);
    let (reply, _) = put(taken).await;
    assert_eq!(reply.status, 409, "{}", reply.body);
}

/// The admin function trusts the caller only as the REST API reports it
/// (`requestContext.identity.accountId`): an HTTP API event's IAM authorizer block, which
/// API Gateway never fills for another account's signature, names no caller here.
#[tokio::test]
async fn only_the_rest_api_identity_names_the_caller() {
    let world = world().await;
    let path = integration_path(demo::COUPA_ORG);
    let http_api = procurement_web::testing::api_gateway_event(
        "GET",
        &path,
        "",
        "application/json",
        None,
        Some(demo::COUPA_MANAGEMENT_ACCOUNT),
    );
    let reply = procurement_web::testing::send_event(&support::admin_app(&world), &http_api).await;
    assert_eq!(reply.status, 401, "{}", reply.body);

    // The same caller through the REST API reads its organisation.
    let (reply, json) = call(
        &world,
        "GET",
        &path,
        Some(demo::COUPA_MANAGEMENT_ACCOUNT),
        None,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(json["org_id"], demo::COUPA_ORG);
}

/// The internet-facing punchout-setup function no longer serves the admin API: its routes
/// are the admin-api function's alone.
#[tokio::test]
async fn the_punchout_setup_function_serves_no_admin_route() {
    let world = world().await;
    for (method, path) in [
        ("GET", integration_path(demo::COUPA_ORG)),
        ("PUT", integration_path(demo::COUPA_ORG)),
        ("POST", secret_path(demo::COUPA_ORG)),
    ] {
        let event = procurement_web::testing::api_gateway_event(
            method,
            &path,
            "",
            "application/json",
            Some(&acme_coupa().to_string()),
            Some(demo::COUPA_MANAGEMENT_ACCOUNT),
        );
        let reply = procurement_web::testing::send_event(&support::setup_app(&world), &event).await;
        assert_eq!(reply.status, 404, "{method} {path}: {}", reply.body);
    }
}

/// Whatever the REST API's stage is called, the routes see the resource path: the stage
/// `lambda_http` puts in front of it is taken off (and only the stage).
#[tokio::test]
async fn the_stage_is_not_part_of_the_route() {
    let world = world().await;
    let app = support::admin_app(&world);
    let path = integration_path(demo::COUPA_ORG);
    for stage in ["prod", "v1", "admin-v2"] {
        let mut event = procurement_web::testing::rest_api_event(
            "GET",
            &path,
            "",
            "application/json",
            None,
            Some(demo::COUPA_MANAGEMENT_ACCOUNT),
        );
        event["requestContext"]["stage"] = stage.into();
        let reply = procurement_web::testing::send_event(&app, &event).await;
        assert_eq!(reply.status, 200, "stage {stage}: {}", reply.body);
    }
    // A path that only starts like the stage is left alone (and names no route).
    let mut event = procurement_web::testing::rest_api_event(
        "GET",
        "/v1x/admin/orgs/demo-coupa-org/integration",
        "",
        "application/json",
        None,
        Some(demo::COUPA_MANAGEMENT_ACCOUNT),
    );
    event["requestContext"]["stage"] = "v1".into();
    let reply = procurement_web::testing::send_event(&app, &event).await;
    assert_eq!(reply.status, 404, "{}", reply.body);
}

#[tokio::test]
async fn kind_invoice_rotates_that_organisations_invoice_secret_alone_and_shows_it_once() {
    let world = world().await;
    let (reply, json) = call(
        &world,
        "PUT",
        &integration_path(NEW_ORG),
        Some(NEW_MANAGEMENT_ACCOUNT),
        Some(&acme_coupa()),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let punchout = json["purchase_information"]["shared_secret"]
        .as_str()
        .unwrap()
        .to_string();
    let first = json["purchase_information"]["invoice_shared_secret"]
        .as_str()
        .expect("a new integration shows its invoice secret")
        .to_string();
    let demo_before = procurement::invoices::invoice_secret_of(
        &world.deps.config,
        &support::integration(&world, demo::COUPA_ORG).await,
    )
    .unwrap();

    let rotate = |query: &'static str, account: &'static str| {
        let world = &world;
        async move {
            call(
                world,
                "POST",
                &format!("{}{query}", secret_path(NEW_ORG)),
                Some(account),
                None,
            )
            .await
        }
    };
    let (reply, json) = rotate("?kind=invoice", NEW_MANAGEMENT_ACCOUNT).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(no_store(&reply));
    let info = &json["purchase_information"];
    let rotated = info["invoice_shared_secret"].as_str().unwrap().to_string();
    assert_ne!(rotated, first);
    assert!(
        info["invoice_shared_secret_notice"]
            .as_str()
            .unwrap()
            .contains("?kind=invoice"),
        "{info}"
    );
    // The punchout secret is neither shown nor changed.
    assert!(info.get("shared_secret").is_none(), "{info}");
    assert!(!reply.body.contains(&punchout));
    assert_eq!(
        setup_status(&world, "DUNS", "acme-coupa", &punchout).await,
        200
    );
    // What the invoices present from now on; another organisation's is unchanged.
    let stored = support::integration(&world, NEW_ORG).await;
    assert_eq!(stored.invoice_secret_version, 2);
    assert_eq!(
        procurement::invoices::invoice_secret_of(&world.deps.config, &stored)
            .unwrap()
            .expose(),
        rotated
    );
    assert_eq!(
        procurement::invoices::invoice_secret_of(
            &world.deps.config,
            &support::integration(&world, demo::COUPA_ORG).await,
        )
        .unwrap(),
        demo_before
    );
    // A read never shows it; a PUT keeps it.
    let (reply, _) = call(
        &world,
        "GET",
        &integration_path(NEW_ORG),
        Some(NEW_MANAGEMENT_ACCOUNT),
        None,
    )
    .await;
    assert!(!reply.body.contains(&rotated), "{}", reply.body);
    let (reply, _) = call(
        &world,
        "PUT",
        &integration_path(NEW_ORG),
        Some(NEW_MANAGEMENT_ACCOUNT),
        Some(&acme_coupa()),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        support::integration(&world, NEW_ORG)
            .await
            .invoice_secret_version,
        2
    );
    // A punchout rotation shows the invoice secret in force, unchanged.
    let (reply, json) = rotate("?kind=punchout", NEW_MANAGEMENT_ACCOUNT).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        json["purchase_information"]["invoice_shared_secret"],
        rotated.as_str()
    );

    // Members may not; wrong kinds and the test instance are refused by name.
    let (reply, _) = rotate("?kind=invoice", NEW_MEMBER_ACCOUNT).await;
    assert_eq!(reply.status, 403);
    let (reply, json) = rotate("?kind=everything", NEW_MANAGEMENT_ACCOUNT).await;
    assert_eq!(reply.status, 400);
    assert!(error_message(&json).contains("`kind`"), "{json}");
    let (reply, json) = rotate("?kind=invoice&instance=test", NEW_MANAGEMENT_ACCOUNT).await;
    assert_eq!(reply.status, 400);
    assert!(error_message(&json).contains("instance=test"), "{json}");
    assert_eq!(
        support::integration(&world, NEW_ORG)
            .await
            .invoice_secret_version,
        2,
        "nothing refused was rotated"
    );
    // Ariba organisations are not invoiced by us.
    let (reply, _) = call(
        &world,
        "POST",
        &format!("{}?kind=invoice", secret_path(demo::ARIBA_ORG)),
        Some(demo::ARIBA_MANAGEMENT_ACCOUNT),
        None,
    )
    .await;
    assert_eq!(reply.status, 400);
}
