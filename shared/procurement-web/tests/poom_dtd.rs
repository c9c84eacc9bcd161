//! Every cart the catalog sends validates against the official cXML 1.2.069 DTD, checked with
//! xmllint (CI installs it; without it these tests fail), for every kind of demo product, in
//! both form encodings, and the empty cart of "Return without a cart".

mod support;

use procurement::demo;
use procurement::fakes::FakeWorld;
use support::*;

#[test]
fn xmllint_refuses_an_invalid_cart() {
    // The checker must be able to say no, or the test below proves nothing.
    let bad = r#"<?xml version="1.0" encoding="UTF-8"?>
<cXML payloadID="1@x" timestamp="2026-01-01T00:00:00+00:00"><Message><PunchOutOrderMessage><BuyerCookie>c</BuyerCookie></PunchOutOrderMessage></Message></cXML>"#;
    assert!(xmllint(bad).is_err());
}

#[tokio::test]
async fn carts_for_every_demo_product_kind_validate() {
    let world = FakeWorld::demo().await;
    let coupa = open_session(&world, &Setup::coupa()).await;
    let mut failures = Vec::new();
    let mut checked = Vec::new();
    for product in demo::products(time::OffsetDateTime::now_utc()) {
        let reply = request_approval(&world, &coupa, &product.id).await;
        if reply.status == 400 {
            // Professional services and AMI contracts: no cart by design.
            assert!(
                ["prod-proserv", "prod-ami-contract"].contains(&product.id.as_str()),
                "{}: {}",
                product.id,
                reply.body
            );
            continue;
        }
        assert_eq!(reply.status, 200, "{}: {}", product.id, reply.body);
        let cart = posted_cart(&reply.body);
        assert_eq!(cart.encoding, cxml::FormEncoding::UrlEncoded);
        checked.push(product.id.clone());
        if let Err(e) = xmllint(&cart.xml) {
            failures.push(format!("--- {}:\n{e}\n{}", product.id, cart.xml));
        }
    }
    assert_eq!(checked.len(), 11, "{checked:?}");

    // SAP Ariba (cxml-base64) with pre-approval off, so free products send a cart too.
    change_integration(&world, demo::ARIBA_ORG, |i| {
        i.settings.preapprove_free = false;
        i.settings.preapprove_byol = false;
    })
    .await;
    let ariba = open_session(&world, &Setup::ariba()).await;
    for id in demo::ARIBA_PRIVATE_MARKETPLACE {
        let reply = request_approval(&world, &ariba, id).await;
        assert_eq!(reply.status, 200, "{id}: {}", reply.body);
        let cart = posted_cart(&reply.body);
        assert_eq!(cart.encoding, cxml::FormEncoding::Base64);
        if let Err(e) = xmllint(&cart.xml) {
            failures.push(format!("--- ariba {id}:\n{e}\n{}", cart.xml));
        }
    }

    // The empty cart.
    let reply = post(&world, "/catalog/return", &[("token", &coupa)]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let cart = posted_cart(&reply.body);
    if let Err(e) = xmllint(&cart.xml) {
        failures.push(format!("--- empty cart:\n{e}\n{}", cart.xml));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
