//! The catalog pages, Request approval and the marketplace subscribe redirect, against the
//! demo world: sessions are opened with real PunchOutSetupRequests, carts are read back out
//! of the page the way the procurement system reads the submitted form.

mod support;

use procurement::Config;
use procurement::delivery::JobOutcome;
use procurement::demo;
use procurement::fakes::FakeWorld;
use procurement::model::*;
use rust_decimal_macros::dec;
use support::*;

const REQUEST_BUTTON: &str = "<button type=\"submit\">Request approval</button>";

fn quote_id_of(cart: &PostedCart) -> String {
    cart.poom().items[0]
        .item_id
        .supplier_part_auxiliary_id
        .clone()
        .expect("SupplierPartAuxiliaryID")
}

async fn stored_quote(world: &FakeWorld, quote_id: &str) -> Quote {
    world
        .deps
        .quotes
        .get(&id(quote_id))
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("quote {quote_id} stored"))
}

/// The reference printed on the pre-approved page.
fn reference(html: &str) -> String {
    let from = html.find("Reference: <code>").expect("reference") + "Reference: <code>".len();
    let to = html[from..].find('<').unwrap() + from;
    html[from..to].to_string()
}

#[tokio::test]
async fn start_page_lists_the_whole_catalog_accessibly_with_the_test_banner() {
    let world = FakeWorld::demo().await;
    let token = open_session(&world, &Setup::coupa()).await;
    let page = get(&world, "/punchout/start", &[("token", &token)]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.content_type(), "text/html; charset=utf-8");
    let html = &page.body;
    for needle in [
        "<html lang=\"en\">",
        "<a class=\"skip\" href=\"#main\">Skip to main content</a>",
        "<header class=\"site\">",
        "<main id=\"main\"",
        "role=\"search\"",
        "<label for=\"q\">Search the catalog</label>",
        "<h1>Catalog</h1>",
        "13 products",
        "Test mode.",
        "Buying through Coupa",
        "Return to Coupa without a cart",
        "Ledgerly Analytics",
        "Migration Assessment",
        ":focus-visible",
    ] {
        assert!(html.contains(needle), "{needle:?} missing in {html}");
    }
    // Links carry the token; nothing is loaded from elsewhere.
    assert!(html.contains(&format!(
        "href=\"https://api.marketplace.example/catalog/products/prod-saas-upfront?token={token}\""
    )));
    assert!(!html.contains("<link") && !html.contains("<img") && !html.contains("src="));
    for h in [
        "cache-control",
        "referrer-policy",
        "content-security-policy",
    ] {
        assert!(page.header(h).is_some(), "{h} in {:?}", page.headers);
    }
    // Coupa and SAP Ariba may show the catalog in a frame of their https pages; nobody else
    // (no `*`, no plain http).
    let csp = page.header("content-security-policy").unwrap();
    let ancestors = csp
        .split(';')
        .map(str::trim)
        .find_map(|d| d.strip_prefix("frame-ancestors "))
        .unwrap_or_else(|| panic!("no frame-ancestors in {csp}"));
    let sources: Vec<&str> = ancestors.split_whitespace().collect();
    assert_eq!(sources, ["'self'", "https:"], "{csp}");
}

#[tokio::test]
async fn search_matches_title_vendor_summary_and_type_case_insensitively() {
    let world = FakeWorld::demo().await;
    let token = open_session(&world, &Setup::coupa()).await;
    for (q, expect, absent) in [
        ("LEDGERLY", "Ledgerly Analytics", "Orbit CRM"),
        ("vaultworks", "Vault Secrets Pro", "Ledgerly"),
        ("kubernetes", "Queue Operator", "Ledgerly"),
        ("machine image", "Hardened Linux Base", "Orbit CRM"),
        ("machine learning", "Invoice OCR Model", "Ledgerly"),
        ("saas crm", "Orbit CRM Enterprise", "Ledgerly"),
    ] {
        let page = get(&world, "/catalog", &[("token", &token), ("q", q)]).await;
        assert_eq!(page.status, 200, "{q}");
        assert!(page.body.contains(expect), "{q}: {expect} missing");
        assert!(
            !page.body.contains(&format!(">{absent}")),
            "{q}: {absent} shown"
        );
    }
    let page = get(&world, "/catalog", &[("token", &token), ("q", "<nothing>")]).await;
    assert!(page.body.contains("0 products"), "{}", page.body);
    assert!(page.body.contains("Results for “&lt;nothing&gt;”"));
    assert!(page.body.contains("value=\"&lt;nothing&gt;\""));
    assert!(!page.body.contains("<nothing>"));
}

#[tokio::test]
async fn start_page_opens_the_selected_item() {
    let world = FakeWorld::demo().await;
    let token = open_session(&world, &Setup::ariba().selected("prod-saas-upfront")).await;
    let page = get(&world, "/punchout/start", &[("token", &token)]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("<h1>Ledgerly Analytics</h1>"),
        "{}",
        page.body
    );
    assert!(page.body.contains(REQUEST_BUTTON));
    assert!(page.body.contains("Buying through SAP Ariba"));
}

#[tokio::test]
async fn a_selected_item_outside_the_private_marketplace_shows_the_catalog_instead() {
    let world = FakeWorld::demo().await;
    let token = open_session(&world, &Setup::ariba().selected("prod-saas-fps")).await;
    let page = get(&world, "/punchout/start", &[("token", &token)]).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("is not available to your organisation"));
    assert!(page.body.contains("<h1>Catalog</h1>"));
    assert!(!page.body.contains("Orbit CRM"));
}

#[tokio::test]
async fn the_private_marketplace_limits_list_search_detail_and_requests() {
    let world = FakeWorld::demo().await;
    let token = open_session(&world, &Setup::ariba()).await;
    let page = get(&world, "/catalog", &[("token", &token)]).await;
    assert!(
        page.body
            .contains("6 products in your organisation's private marketplace")
    );
    for id in demo::ARIBA_PRIVATE_MARKETPLACE {
        assert!(
            page.body.contains(&format!("/catalog/products/{id}?")),
            "{id}"
        );
    }
    assert!(!page.body.contains("Orbit CRM"));
    let search = get(&world, "/catalog", &[("token", &token), ("q", "orbit")]).await;
    assert!(search.body.contains("0 products"));
    let detail = get(
        &world,
        "/catalog/products/prod-saas-fps",
        &[("token", &token)],
    )
    .await;
    assert_eq!(detail.status, 404, "{}", detail.body);
    assert!(detail.body.contains("not in your organisation's catalog"));
    let request = request_approval(&world, &token, "prod-saas-fps").await;
    assert_eq!(request.status, 404);
    assert!(
        world
            .deps
            .quotes
            .get(&id("q-anything"))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn product_detail_shows_type_pricing_and_the_offer_terms_in_utc() {
    let world = FakeWorld::demo().await;
    let token = open_session(&world, &Setup::coupa()).await;
    let product = world
        .deps
        .catalog
        .get_product("prod-saas-private")
        .await
        .unwrap()
        .unwrap();
    let offer = product.private_offer.clone().unwrap();
    let page = get(
        &world,
        "/catalog/products/prod-saas-private",
        &[("token", &token)],
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let html = &page.body;
    let expiry = procurement::cart::utc_date_time(offer.expires_at);
    assert!(expiry.ends_with(" UTC"));
    for needle in [
        "<h1>Sentinel SIEM (private offer)</h1>",
        "<dt>Product type</dt><dd>SaaS</dd>",
        "48000.00 USD upfront for 24 months",
        "<dt>Private offer ID</dt><dd><code>offer-sentinel-2026</code></dd>",
        expiry.as_str(),
        "48,000.00 USD",
        "81162000",
        REQUEST_BUTTON,
        "action=\"https://api.marketplace.example/catalog/request-approval\"",
        "<input type=\"hidden\" name=\"product_id\" value=\"prod-saas-private\">",
        &format!("<input type=\"hidden\" name=\"token\" value=\"{token}\">"),
    ] {
        assert!(html.contains(needle), "{needle:?} missing in {html}");
    }
    // Headings in order: one h1, then h2 sections.
    let h1 = html.find("<h1>").unwrap();
    assert!(html[..h1].find("<h2").is_none());
}

#[tokio::test]
async fn unsupported_products_have_no_button_and_requests_are_refused() {
    let world = FakeWorld::demo().await;
    let token = open_session(&world, &Setup::coupa()).await;
    for (id, why) in [
        ("prod-proserv", "Professional services"),
        ("prod-ami-contract", "Amazon Machine Image contracts"),
    ] {
        let page = get(
            &world,
            &format!("/catalog/products/{id}"),
            &[("token", &token)],
        )
        .await;
        assert_eq!(page.status, 200);
        assert!(!page.body.contains(REQUEST_BUTTON), "{id}");
        assert!(page.body.contains("Not available through Coupa"), "{id}");
        assert!(page.body.contains(why), "{id}");
        let refused = request_approval(&world, &token, id).await;
        assert_eq!(refused.status, 400, "{id}");
        assert!(refused.body.contains(why), "{id}: {}", refused.body);
        assert!(!refused.body.contains("<form id=\"cart\""));
    }
}

#[tokio::test]
async fn request_approval_returns_the_upfront_cart_to_coupa() {
    let world = FakeWorld::demo().await;
    let token = open_session(&world, &Setup::coupa()).await;
    let reply = request_approval(&world, &token, "prod-saas-upfront").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let html = &reply.body;
    assert!(html.contains("<button type=\"submit\">Return the cart to Coupa</button>"));
    assert!(html.contains("document.getElementById(\"cart\").submit();"));
    let nonce = reply.script_nonce().unwrap();
    assert!(html.contains(&format!("<script nonce=\"{nonce}\">")));

    let cart = posted_cart(html);
    assert_eq!(cart.action, FORM_POST);
    assert_eq!(cart.encoding, cxml::FormEncoding::UrlEncoded);
    let header = cart.doc.header.as_ref().unwrap();
    let config = Config::example();
    assert_eq!(header.from[0].domain, config.supplier_domain);
    assert_eq!(header.from[0].identity, config.supplier_identity);
    assert_eq!(header.sender[0].identity, config.supplier_identity);
    assert!(header.sender[0].shared_secret.is_none());
    assert_eq!(header.to[0].domain, demo::COUPA_DOMAIN);
    assert_eq!(header.to[0].identity, demo::COUPA_IDENTITY);
    assert_eq!(cart.message().deployment_mode, cxml::DeploymentMode::Test);
    assert!(cart.xml.contains("deploymentMode=\"test\""));

    let poom = cart.poom();
    assert_eq!(poom.buyer_cookie, COUPA_COOKIE);
    assert_eq!(poom.header.total.amount, dec!(12000.00));
    assert_eq!(poom.header.total.currency, cxml::Currency::USD);
    assert_eq!(poom.items.len(), 1);
    let item = &poom.items[0];
    assert_eq!(item.item_id.supplier_part_id, "prod-saas-upfront");
    assert_eq!(item.detail.unit_price.amount_text(), "12000.00");
    assert_eq!(item.detail.unspsc(), Some("81162000"));
    assert_eq!(item.quantity, dec!(1));

    let quote_id = quote_id_of(&cart);
    assert!(
        quote_id.starts_with("q-") && quote_id.len() == 34,
        "{quote_id}"
    );
    let quote = stored_quote(&world, &quote_id).await;
    assert_eq!(quote.status, QuoteStatus::PendingApproval);
    assert_eq!(quote.org_id, demo::COUPA_ORG);
    assert_eq!(quote.product_id, "prod-saas-upfront");
    assert!(quote.test);
    assert!(!quote.never_invoiced);
    assert_eq!(quote.buyer_cookie, COUPA_COOKIE);
    assert_eq!(
        quote.requester_email.as_deref(),
        Some("jim.halpert@buyer.example")
    );
    assert_eq!(quote.requester_name.as_deref(), Some("Jim Halpert"));
    assert_eq!(quote.lines.len(), 1);
    assert_eq!(quote.lines[0].kind, ChargeKind::Contract);
    assert!(quote.private_offer.is_none());
    assert!((time::OffsetDateTime::now_utc() - quote.created_at).whole_seconds() < 60);
    assert_eq!(quote.created_at.offset(), time::UtcOffset::UTC);
}

#[tokio::test]
async fn payment_schedule_usage_and_contract_plus_usage_carts() {
    let world = FakeWorld::demo().await;
    let token = open_session(&world, &Setup::coupa()).await;

    let fps = posted_cart(&request_approval(&world, &token, "prod-saas-fps").await.body);
    assert_eq!(fps.poom().items.len(), 1);
    assert_eq!(fps.poom().header.total.amount, dec!(10000.00));

    let payg = posted_cart(&request_approval(&world, &token, "prod-waf-payg").await.body);
    assert_eq!(
        payg.poom().items[0].detail.unit_price.amount_text(),
        "10000.00"
    );
    assert_eq!(payg.poom().items[0].detail.unspsc(), Some("43230000"));
    let quote = stored_quote(&world, &quote_id_of(&payg)).await;
    assert_eq!(quote.lines[0].kind, ChargeKind::Usage);

    let both = posted_cart(
        &request_approval(&world, &token, "prod-saas-contract-payg")
            .await
            .body,
    );
    let poom = both.poom();
    assert_eq!(poom.items.len(), 2);
    assert_eq!(poom.items[0].detail.unit_price.amount_text(), "6000.00");
    assert_eq!(poom.items[1].detail.unit_price.amount_text(), "10000.00");
    assert_eq!(poom.header.total.amount, dec!(16000.00));
    let quote_id = quote_id_of(&both);
    assert!(poom.items.iter().all(|i| {
        i.item_id.supplier_part_id == "prod-saas-contract-payg"
            && i.item_id.supplier_part_auxiliary_id.as_deref() == Some(quote_id.as_str())
    }));
    let quote = stored_quote(&world, &quote_id).await;
    let kinds: Vec<_> = quote.lines.iter().map(|l| l.kind).collect();
    assert_eq!(kinds, [ChargeKind::Contract, ChargeKind::Usage]);
}

#[tokio::test]
async fn the_private_offer_is_stored_and_sent_as_it_stood() {
    let world = FakeWorld::demo().await;
    let token = open_session(&world, &Setup::coupa()).await;
    let cart = posted_cart(
        &request_approval(&world, &token, "prod-saas-private")
            .await
            .body,
    );
    let quote = stored_quote(&world, &quote_id_of(&cart)).await;
    let offer = quote.private_offer.expect("private offer kept");
    assert_eq!(offer.offer_id, "offer-sentinel-2026");
    let extrinsics = &cart.poom().items[0].detail.extrinsics;
    assert_eq!(
        cxml::extrinsic(extrinsics, "PrivateOfferID"),
        Some("offer-sentinel-2026")
    );
}

#[tokio::test]
async fn free_byol_and_trial_without_pre_approval_go_for_approval_at_zero() {
    let world = FakeWorld::demo().await;
    let token = open_session(&world, &Setup::coupa()).await;
    for id in ["prod-ami-free", "prod-ami-byol", "prod-container-trial"] {
        let reply = request_approval(&world, &token, id).await;
        assert_eq!(reply.status, 200, "{id}");
        let cart = posted_cart(&reply.body);
        assert_eq!(cart.poom().header.total.amount_text(), "0.00", "{id}");
        let quote = stored_quote(&world, &quote_id_of(&cart)).await;
        assert_eq!(quote.status, QuoteStatus::PendingApproval, "{id}");
        assert_eq!(quote.never_invoiced, id == "prod-container-trial", "{id}");
    }
}

#[tokio::test]
async fn pre_approved_free_products_subscribe_at_once_without_a_cart() {
    let world = FakeWorld::demo().await;
    // Out of test mode, so the subscription is really made.
    change_integration(&world, demo::ARIBA_ORG, |i| i.settings.test_mode = false).await;
    let token = open_session(&world, &Setup::ariba().production()).await;
    let detail = get(
        &world,
        "/catalog/products/prod-ami-byol",
        &[("token", &token)],
    )
    .await;
    assert!(detail.body.contains("pre-approves products like this one"));
    assert!(detail.body.contains(REQUEST_BUTTON));
    for id in ["prod-ami-free", "prod-ami-byol"] {
        let reply = request_approval(&world, &token, id).await;
        assert_eq!(reply.status, 200, "{id}: {}", reply.body);
        assert!(!reply.body.contains("<form id=\"cart\""), "{id}");
        assert!(reply.body.contains("you are subscribed now"), "{id}");
        assert!(!reply.body.contains("Test mode"), "{id}");
        let quote = stored_quote(&world, &reference(&reply.body)).await;
        assert_eq!(quote.status, QuoteStatus::Subscribed);
        assert!(!quote.test);
        // The catalog may not write agreements: it queued the job that does.
        assert_eq!(quote.agreement_id, None);
        assert_eq!(
            *world.queue.subscriptions.lock().unwrap(),
            vec![quote.quote_id.clone()]
        );
        assert_eq!(world.run_subscription_jobs().await, vec![JobOutcome::Done]);
        let quote = stored_quote(&world, quote.quote_id.as_str()).await;
        let agreement = world
            .deps
            .orders
            .get_agreement(quote.agreement_id.as_ref().expect("agreement id"))
            .await
            .unwrap()
            .expect("agreement written by the job");
        assert_eq!(agreement.po_number, None);
        assert_eq!(agreement.quote_id, quote.quote_id);
        assert_eq!(agreement.product_id, id);
        assert_eq!(agreement.status, AgreementStatus::Active);
        assert_eq!(
            agreement.subscriber_email.as_deref(),
            Some("jim.halpert@buyer.example")
        );
    }
}

#[tokio::test]
async fn in_test_mode_pre_approval_subscribes_nothing() {
    let world = FakeWorld::demo().await;
    let token = open_session(&world, &Setup::ariba()).await;
    let reply = request_approval(&world, &token, "prod-ami-free").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body.contains("Nothing was subscribed"));
    assert!(!reply.body.contains("<form id=\"cart\""));
    let quote = stored_quote(&world, &reference(&reply.body)).await;
    assert!(quote.test);
    assert_eq!(quote.status, QuoteStatus::Subscribed);
    assert_eq!(quote.agreement_id, None);
}

#[tokio::test]
async fn production_sessions_send_production_carts() {
    let world = FakeWorld::demo().await;
    change_integration(&world, demo::COUPA_ORG, |i| i.settings.test_mode = false).await;
    let token = open_session(&world, &Setup::coupa().production()).await;
    let page = get(&world, "/catalog", &[("token", &token)]).await;
    assert!(!page.body.contains("Test mode"));
    let cart = posted_cart(
        &request_approval(&world, &token, "prod-saas-upfront")
            .await
            .body,
    );
    assert_eq!(
        cart.message().deployment_mode,
        cxml::DeploymentMode::Production
    );
    assert!(!stored_quote(&world, &quote_id_of(&cart)).await.test);

    // A test-mode request from a production integration is still a test.
    let token = open_session(&world, &Setup::coupa()).await;
    let cart = posted_cart(
        &request_approval(&world, &token, "prod-saas-upfront")
            .await
            .body,
    );
    assert_eq!(cart.message().deployment_mode, cxml::DeploymentMode::Test);
    assert!(stored_quote(&world, &quote_id_of(&cart)).await.test);
}

#[tokio::test]
async fn ariba_carts_travel_in_base64() {
    let world = FakeWorld::demo().await;
    let token = open_session(&world, &Setup::ariba()).await;
    let reply = request_approval(&world, &token, "prod-saas-payg").await;
    assert!(reply.body.contains("name=\"cxml-base64\""));
    assert!(reply.body.contains("Return the cart to SAP Ariba"));
    let cart = posted_cart(&reply.body);
    assert_eq!(cart.encoding, cxml::FormEncoding::Base64);
    assert_eq!(cart.poom().buyer_cookie, ARIBA_COOKIE);
    assert_eq!(
        cart.doc.header.as_ref().unwrap().to[0].identity,
        demo::ARIBA_IDENTITY
    );
}

#[tokio::test]
async fn return_without_a_cart_posts_an_empty_cart() {
    let world = FakeWorld::demo().await;
    let token = open_session(&world, &Setup::coupa()).await;
    let reply = post(&world, "/catalog/return", &[("token", &token)]).await;
    assert_eq!(reply.status, 200);
    let cart = posted_cart(&reply.body);
    assert!(cart.poom().items.is_empty());
    assert_eq!(cart.poom().buyer_cookie, COUPA_COOKIE);
}

#[tokio::test]
async fn inspect_sessions_cannot_request() {
    let world = FakeWorld::demo().await;
    let token = open_session(&world, &Setup::coupa().operation("inspect")).await;
    let page = get(
        &world,
        "/catalog/products/prod-saas-upfront",
        &[("token", &token)],
    )
    .await;
    assert!(!page.body.contains(REQUEST_BUTTON));
    assert!(page.body.contains("inspect an existing cart"));
    let reply = request_approval(&world, &token, "prod-saas-upfront").await;
    assert_eq!(reply.status, 400);
}

#[tokio::test]
async fn bad_tokens_missing_fields_and_wrong_routes_get_clear_pages() {
    let world = FakeWorld::demo().await;
    for token in ["", "0".repeat(64).as_str(), "not-hex", &"a".repeat(65)] {
        let page = get(&world, "/punchout/start", &[("token", token)]).await;
        assert_eq!(page.status, 403, "{token:?}");
        assert!(page.body.contains("has expired or is not valid"));
        assert!(
            page.body
                .contains("start again from your procurement system")
        );
    }
    let page = get(&world, "/catalog", &[]).await;
    assert_eq!(page.status, 403);
    let reply = request_approval(&world, &"f".repeat(64), "prod-saas-upfront").await;
    assert_eq!(reply.status, 403);

    let token = open_session(&world, &Setup::coupa()).await;
    let reply = post(&world, "/catalog/request-approval", &[("token", &token)]).await;
    assert_eq!(reply.status, 400);
    assert!(
        reply.body.contains("<code>product_id</code>"),
        "{}",
        reply.body
    );
    let reply = post(
        &world,
        "/catalog/request-approval",
        &[("product_id", "prod-saas-upfront")],
    )
    .await;
    assert_eq!(reply.status, 400);
    assert!(reply.body.contains("<code>token</code>"));
    let garbage = procurement_web::testing::post_bytes(
        &setup_app(&world),
        "/catalog/request-approval",
        "application/x-www-form-urlencoded",
        &[0xff, 0xfe, b'%', b'&', b'='],
    )
    .await;
    assert_eq!(garbage.status, 400);

    let reply = get(&world, "/catalog/request-approval", &[("token", &token)]).await;
    assert_eq!(reply.status, 405);
    assert!(reply.header("allow") == Some("POST"));
    let reply = post(&world, "/catalog", &[("token", &token)]).await;
    assert_eq!(reply.status, 405);
    let reply = get(&world, "/catalog/nowhere", &[("token", &token)]).await;
    assert_eq!(reply.status, 404);
    let reply = get(&world, "/catalog/products/%FF%00", &[("token", &token)]).await;
    assert_eq!(reply.status, 404);
}

/// A token names its organisation, so the page reads the session, integration and organisation
/// at once; the stored session still decides. One whose organisation part was changed names
/// no session (the whole token is the secret), a session stored under a token that names
/// another organisation than its own opens nothing, and a token of before (the random part
/// alone) still opens its session.
#[tokio::test]
async fn a_token_opens_only_a_session_of_the_organisation_it_names() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use procurement::ports::Sessions;
    let world = FakeWorld::demo().await;
    let token = open_session(&world, &Setup::coupa()).await;
    let (random, org) = token
        .split_once('.')
        .expect("the token names its organisation");
    assert_eq!(
        URL_SAFE_NO_PAD.decode(org).unwrap(),
        demo::COUPA_ORG.as_bytes()
    );
    let digest = |t: &str| cxml::SecretDigest::of(t).to_hex();
    let session = world
        .store
        .get(&digest(&token))
        .await
        .unwrap()
        .expect("stored");

    let elsewhere = format!("{random}.{}", URL_SAFE_NO_PAD.encode(demo::ARIBA_ORG));
    // Stored under a token naming the Ariba organisation, the session is still Coupa's.
    let forged = format!(
        "{}.{}",
        "e".repeat(64),
        URL_SAFE_NO_PAD.encode(demo::ARIBA_ORG)
    );
    world
        .store
        .put(&Session {
            token_digest: digest(&forged),
            ..session.clone()
        })
        .await
        .unwrap();
    let unpadded = format!("{random}.{org}=");
    for bad in [&elsewhere, &forged, &unpadded, &format!("{random}.")] {
        let page = get(&world, "/punchout/start", &[("token", bad)]).await;
        assert_eq!(page.status, 403, "{bad}");
        let reply = request_approval(&world, bad, "prod-saas-upfront").await;
        assert_eq!(reply.status, 403, "{bad}");
        let quote_id = procurement::ids::QuoteId::for_request(&digest(bad), "prod-saas-upfront");
        let stored = world.deps.quotes.get(&quote_id).await.unwrap();
        assert!(stored.is_none(), "nothing requested with {bad}");
    }

    let legacy = "d".repeat(64);
    world
        .store
        .put(&Session {
            token_digest: digest(&legacy),
            ..session
        })
        .await
        .unwrap();
    let page = get(&world, "/punchout/start", &[("token", &legacy)]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let reply = request_approval(&world, &legacy, "prod-saas-upfront").await;
    assert_eq!(reply.status, 200, "{}", reply.body);

    // The product is read with the session: one read for the visit, none for the product.
    let visits = world.store.visits.load(std::sync::atomic::Ordering::SeqCst);
    let reply = request_approval(&world, &token, "prod-saas-fps").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        world.store.visits.load(std::sync::atomic::Ordering::SeqCst),
        visits + 1
    );
}

#[tokio::test]
async fn a_disabled_integration_closes_open_sessions() {
    let world = FakeWorld::demo().await;
    let token = open_session(&world, &Setup::coupa()).await;
    change_integration(&world, demo::COUPA_ORG, |i| i.settings.enabled = false).await;
    let page = get(&world, "/catalog", &[("token", &token)]).await;
    assert_eq!(page.status, 403);
    assert!(page.body.contains("turned off"));
}

// ---- POST /catalog/subscribe: a subscribe attempt made in the marketplace ----

/// A subscribe attempt signed by `account` (API Gateway's IAM authorizer names it).
async fn subscribe(world: &FakeWorld, account: &str, product: &str) -> Reply {
    procurement_web::testing::post_form_signed(
        &setup_app(world),
        "/catalog/subscribe",
        &[("product_id", product)],
        account,
    )
    .await
}

#[tokio::test]
async fn subscribe_from_an_ariba_organisation_is_refused() {
    let world = FakeWorld::demo().await;
    let reply = subscribe(&world, demo::ARIBA_MANAGEMENT_ACCOUNT, "prod-saas-upfront").await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert!(reply.body.contains("Start from SAP Ariba"));
    assert!(
        reply
            .body
            .contains("open SAP Ariba and punch out to the marketplace")
    );
}

#[tokio::test]
async fn subscribe_from_a_coupa_organisation_with_redirect_goes_to_coupa() {
    let world = FakeWorld::demo().await;
    change_integration(&world, demo::COUPA_ORG, |i| i.settings.redirect = true).await;
    for account in [demo::COUPA_MANAGEMENT_ACCOUNT, demo::COUPA_MEMBER_ACCOUNT] {
        let reply = subscribe(&world, account, "prod-saas-upfront").await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert!(reply.body.contains("<h1>Continue in Coupa</h1>"));
        assert!(reply.body.contains("Nothing was subscribed"));
        assert!(reply.body.contains("Ledgerly Analytics"));
    }
}

#[tokio::test]
async fn otherwise_the_direct_marketplace_subscription_applies() {
    let world = FakeWorld::demo().await;
    // Coupa with redirect off (the demo default).
    let reply = subscribe(&world, demo::COUPA_MANAGEMENT_ACCOUNT, "prod-saas-upfront").await;
    assert_eq!(reply.status, 200);
    assert!(reply.body.contains("direct subscription applies"));
    // No organisation at all.
    let reply = subscribe(&world, "999999999999", "prod-saas-upfront").await;
    assert_eq!(reply.status, 200);
    assert!(reply.body.contains("direct subscription applies"));
    // A disabled Ariba integration no longer routes purchases.
    change_integration(&world, demo::ARIBA_ORG, |i| i.settings.enabled = false).await;
    let reply = subscribe(&world, demo::ARIBA_MANAGEMENT_ACCOUNT, "prod-saas-upfront").await;
    assert_eq!(reply.status, 200);
    assert!(reply.body.contains("direct subscription applies"));
    // Nothing was stored along the way.
    assert!(world.deps.quotes.get(&id("q-")).await.unwrap().is_none());
}

/// The page without its per-response CSP nonce, to compare answers.
fn without_nonce(reply: &Reply) -> String {
    match reply.script_nonce() {
        Some(nonce) => reply.body.replace(&nonce, ""),
        None => reply.body.clone(),
    }
}

#[tokio::test]
async fn an_unsigned_subscribe_attempt_gets_one_answer_for_every_account() {
    // The form's account_id is not believed: whether it names an Ariba customer, a Coupa one
    // with redirect in test mode, a disabled one or no customer, the answer is the same.
    let world = FakeWorld::demo().await;
    change_integration(&world, demo::COUPA_ORG, |i| i.settings.redirect = true).await;
    let accounts = [
        demo::ARIBA_MANAGEMENT_ACCOUNT,
        demo::COUPA_MANAGEMENT_ACCOUNT,
        demo::COUPA_MEMBER_ACCOUNT,
        "999999999999",
        "",
    ];
    let mut answers = Vec::new();
    for account in accounts {
        let reply = post(
            &world,
            "/catalog/subscribe",
            &[("product_id", "prod-saas-upfront"), ("account_id", account)],
        )
        .await;
        answers.push((reply.status, without_nonce(&reply)));
    }
    change_integration(&world, demo::ARIBA_ORG, |i| i.settings.enabled = false).await;
    let reply = post(
        &world,
        "/catalog/subscribe",
        &[("product_id", "prod-saas-upfront")],
    )
    .await;
    answers.push((reply.status, without_nonce(&reply)));
    let (status, body) = &answers[0];
    assert_eq!(*status, 200, "{body}");
    assert!(body.contains("Nothing was subscribed") && body.contains("Ledgerly Analytics"));
    for needle in [
        "Test mode",
        "Continue in Coupa",
        "Start from SAP Ariba",
        "Your organisation buys",
    ] {
        assert!(!body.contains(needle), "{needle}: {body}");
    }
    for (i, answer) in answers.iter().enumerate() {
        assert_eq!(answer, &answers[0], "answer {i} differs");
    }
}

#[tokio::test]
async fn subscribe_checks_its_form_and_trusts_only_the_signed_account() {
    let world = FakeWorld::demo().await;
    let reply = post(&world, "/catalog/subscribe", &[("account_id", "1")]).await;
    assert_eq!(reply.status, 400);
    assert!(reply.body.contains("<code>product_id</code>"));
    let reply = subscribe(&world, demo::ARIBA_MANAGEMENT_ACCOUNT, "prod-nope").await;
    assert_eq!(reply.status, 404);
    // The IAM-signed account wins over what the form says.
    let signed = procurement_web::testing::post_form_signed(
        &setup_app(&world),
        "/catalog/subscribe",
        &[
            ("product_id", "prod-saas-upfront"),
            ("account_id", "999999999999"),
        ],
        demo::ARIBA_MANAGEMENT_ACCOUNT,
    )
    .await;
    assert_eq!(signed.status, 403);
}

// ---- Private offers: for the organisations they are extended to only ----

/// Nothing of the demo private offer: its name, vendor, ID or price.
fn no_trace_of_the_offer(html: &str) {
    for secret in ["Sentinel", "offer-sentinel-2026", "48,000.00", "48000.00"] {
        assert!(!html.contains(secret), "{secret:?} in {html}");
    }
}

async fn pending_offer_quotes(world: &FakeWorld) -> usize {
    world
        .deps
        .quotes
        .pending_offer_quotes(100, None)
        .await
        .unwrap()
        .items
        .len()
}

#[tokio::test]
async fn a_private_offer_not_extended_to_the_organisation_is_answered_as_no_product() {
    let world = FakeWorld::demo().await;
    let private = demo::PRIVATE_OFFER_PRODUCT;
    let missing = "prod-does-not-exist";
    withdraw_private_offer(&world, demo::COUPA_ORG).await;
    let token = open_session(&world, &Setup::coupa()).await;
    // The list and the search: one product fewer than the 13 of the catalog.
    let page = get(&world, "/catalog", &[("token", &token)]).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("12 products"), "{}", page.body);
    no_trace_of_the_offer(&page.body);
    let search = get(&world, "/catalog", &[("token", &token), ("q", "sentinel")]).await;
    assert!(search.body.contains("0 products"));
    no_trace_of_the_offer(&search.body);
    // The product page, Request approval and a SelectedItem: the answers of a missing product.
    let path = |id: &str| format!("/catalog/products/{id}");
    let shown = get(&world, &path(private), &[("token", &token)]).await;
    let absent = get(&world, &path(missing), &[("token", &token)]).await;
    assert_eq!(shown.status, 404);
    assert_eq!(without_nonce(&shown), without_nonce(&absent));
    no_trace_of_the_offer(&shown.body);
    let requested = request_approval(&world, &token, private).await;
    let absent = request_approval(&world, &token, missing).await;
    assert_eq!(requested.status, 404);
    assert_eq!(without_nonce(&requested), without_nonce(&absent));
    no_trace_of_the_offer(&requested.body);
    assert_eq!(pending_offer_quotes(&world).await, 0, "no quote stored");
    let selected_token = open_session(&world, &Setup::coupa().selected(private)).await;
    let selected = get(&world, "/punchout/start", &[("token", &selected_token)]).await;
    let absent_token = open_session(&world, &Setup::coupa().selected(missing)).await;
    let absent = get(&world, "/punchout/start", &[("token", &absent_token)]).await;
    assert!(
        selected
            .body
            .contains("is not available to your organisation")
    );
    assert_eq!(
        without_nonce(&selected)
            .replace(private, "<id>")
            .replace(&selected_token, "<token>"),
        without_nonce(&absent)
            .replace(missing, "<id>")
            .replace(&absent_token, "<token>")
    );
    // A subscribe attempt in the marketplace: the 404 of a product that does not exist, for
    // the organisation and for an account of no organisation.
    for account in [demo::COUPA_MANAGEMENT_ACCOUNT, "999999999999"] {
        let refused = subscribe(&world, account, private).await;
        let absent = subscribe(&world, account, missing).await;
        assert_eq!(refused.status, 404, "{account}");
        assert_eq!(without_nonce(&refused), without_nonce(&absent));
    }

    // The organisation it is still extended to sees, requests and routes it as before.
    let token = open_session(&world, &Setup::ariba()).await;
    let page = get(&world, "/catalog", &[("token", &token)]).await;
    assert!(page.body.contains(&format!("/catalog/products/{private}?")));
    let shown = get(&world, &path(private), &[("token", &token)]).await;
    assert_eq!(shown.status, 200);
    assert!(shown.body.contains("offer-sentinel-2026"));
    let requested = request_approval(&world, &token, private).await;
    assert_eq!(requested.status, 200, "{}", requested.body);
    assert_eq!(pending_offer_quotes(&world).await, 1);
    let routed = subscribe(&world, demo::ARIBA_MANAGEMENT_ACCOUNT, private).await;
    assert_eq!(
        routed.status, 403,
        "Start from SAP Ariba, as for any product"
    );
}

/// Names with é, ü, ß and 日本語 arrive exactly as the catalog holds them, through Ariba's
/// cxml-base64 and Coupa's cxml-urlencoded alike, on the product page and in the cart.
#[tokio::test]
async fn non_ascii_names_survive_both_form_encodings() {
    let world = FakeWorld::demo().await;
    let product = demo::products(time::OffsetDateTime::now_utc())
        .into_iter()
        .find(|p| p.id == demo::INTERNATIONAL_PRODUCT)
        .expect("the international demo product");
    for (setup, encoding) in [
        (Setup::ariba(), cxml::FormEncoding::Base64),
        (Setup::coupa(), cxml::FormEncoding::UrlEncoded),
    ] {
        let token = open_session(&world, &setup).await;
        let page = get(
            &world,
            &format!("/catalog/products/{}", product.id),
            &[("token", &token)],
        )
        .await;
        assert!(page.body.contains(&product.title), "{}", page.body);
        let cart = posted_cart(&request_approval(&world, &token, &product.id).await.body);
        assert_eq!(cart.encoding, encoding);
        let detail = &cart.poom().items[0].detail;
        let description = &detail.descriptions[0];
        assert_eq!(
            description.short_name.as_deref(),
            Some(product.title.as_str())
        );
        assert!(
            description
                .text
                .starts_with(&format!("{}: 12-month contract", product.title)),
            "{}",
            description.text
        );
        assert!(description.text.contains(&product.vendor));
        assert_eq!(
            detail.manufacturer_name.as_deref(),
            Some(product.vendor.as_str())
        );
    }
}

#[tokio::test]
async fn a_requester_address_ses_would_refuse_is_not_kept_and_the_page_says_so() {
    let world = FakeWorld::demo().await;
    let usable = open_session(&world, &Setup::coupa()).await;
    let page = get(&world, "/punchout/start", &[("token", &usable)]).await;
    assert!(!page.body.contains("no-usable-email"), "{}", page.body);

    // What procurement systems really send when the user profile has no proper address.
    for unusable in [
        "",
        "Jim Halpert",
        "jim.halpert",
        "jim.halpert@buyer",
        "Jim Halpert &lt;jim.halpert@buyer.example&gt;",
        "jim.halpert@buyer.example&#13;&#10;Bcc: everyone@buyer.example",
    ] {
        let token = open_session(&world, &Setup::coupa().user_email(unusable)).await;
        let page = get(&world, "/punchout/start", &[("token", &token)]).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            page.body.contains("id=\"no-usable-email\"")
                && page.body.contains("sent no email address we can use"),
            "{unusable:?}: {}",
            page.body
        );
        // The request still goes through, with no address to write to.
        let reply = request_approval(&world, &token, "prod-saas-upfront").await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let quote = stored_quote(&world, &quote_id_of(&posted_cart(&reply.body))).await;
        assert_eq!(quote.requester_email, None, "{unusable:?}");
    }
}

#[tokio::test]
async fn a_subscription_job_lost_on_its_way_is_queued_again_by_the_scheduled_run() {
    let world = FakeWorld::demo().await;
    change_integration(&world, demo::ARIBA_ORG, |i| i.settings.test_mode = false).await;
    let token = open_session(&world, &Setup::ariba().production()).await;
    world
        .queue
        .failing
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let reply = request_approval(&world, &token, "prod-ami-free").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body.contains("you are subscribed now"));
    let quote = stored_quote(&world, &reference(&reply.body)).await;
    assert!(quote.awaits_agreement());
    world
        .queue
        .failing
        .store(false, std::sync::atomic::Ordering::SeqCst);

    let now = time::OffsetDateTime::now_utc();
    let far = now + time::Duration::hours(1);
    let sweep = |at| procurement::quotes::queue_awaiting_agreements(&world.deps, at, far);
    // Its own job may still be on its way: the run leaves it a while.
    assert_eq!(sweep(now).await.unwrap().queued, 0);
    let later = now + procurement::quotes::AGREEMENT_JOB_GRACE + time::Duration::seconds(1);
    assert_eq!(sweep(later).await.unwrap().queued, 1);
    // The job arrives as invoice-dispatch gets it: a queue message naming the quote.
    let message = format!(r#"{{"subscription_quote_id":"{}"}}"#, quote.quote_id);
    assert_eq!(
        procurement::delivery::dispatch(&world.deps, &message, 1).await,
        JobOutcome::Done
    );
    let quote = stored_quote(&world, quote.quote_id.as_str()).await;
    let agreement_id = quote.agreement_id.clone().expect("recorded on the quote");
    assert!(
        world
            .deps
            .orders
            .get_agreement(&agreement_id)
            .await
            .unwrap()
            .is_some()
    );
    // Written: the run queues nothing more, and a late second job writes nothing.
    assert_eq!(sweep(later).await.unwrap().queued, 0);
    assert_eq!(
        procurement::delivery::dispatch(&world.deps, &message, 1).await,
        JobOutcome::Done
    );
    assert_eq!(world.store.agreement_count(), 1);
}
