//! `make demo`: one procurement round trip against the stack `make run` started, played as
//! the buyer's Coupa and the buyer's browser would, printing every cXML exchange.
//!
//! Environment: BUYER_PORT (9100: where the stand-in Coupa receives carts and invoices; the
//! seeded Coupa integration's invoice URL points there), DEMO_WAIT_SECONDS (60: how long to
//! wait for the invoice).

use std::time::Duration;

use e2e::html;
use e2e::procurement_system::{self as buyer, Party, Punchout, PurchaseOrder};
use e2e::{BuyerEndpoint, Error, LocalStack};

fn banner(step: &str) {
    println!("\n== {step}");
}

/// Prints an exchange; shared secrets are masked even here (habits travel).
fn show(direction: &str, what: &str, body: &str) {
    println!("-- {direction}: {what}");
    let mut text = body.trim_end().to_string();
    let (open, close) = ("<SharedSecret>", "</SharedSecret>");
    let mut from = 0;
    while let Some(start) = text[from..].find(open).map(|i| from + i + open.len()) {
        let Some(end) = text[start..].find(close).map(|i| start + i) else {
            break;
        };
        text.replace_range(start..end, "***");
        from = start + 3 + close.len();
    }
    println!("{text}");
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("\ndemo: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Error> {
    let stack = LocalStack::connect().await?;
    let port = env_number("BUYER_PORT", 9100) as u16;
    let coupa = BuyerEndpoint::start(port).await.map_err(|e| {
        format!("cannot listen on 127.0.0.1:{port} for the buyer ({e}); set BUYER_PORT")
    })?;
    let party = Party::coupa_demo();
    println!(
        "Round trip against {} as the demo Coupa buyer ({}/{}); Coupa's endpoint is {}",
        stack.api,
        party.domain,
        party.identity,
        coupa.url("/")
    );

    banner("0. The buyer's admin finishes testing: test mode off, invoices to Coupa");
    // The admin API is IAM-signed; API Gateway puts the caller's account in the event.
    let admin_path = format!("/admin/orgs/{}/integration", procurement::demo::COUPA_ORG);
    let account = Some(procurement::demo::COUPA_MANAGEMENT_ACCOUNT);
    let (status, current) = stack.admin(account, "GET", &admin_path, None).await?;
    if status != 200 {
        return Err(format!("admin GET answered {status}: {current}").into());
    }
    let mut settings = current["settings"].clone();
    settings["test_mode"] = false.into();
    settings["invoice_url"] = coupa.url("/invoices").into();
    let (status, updated) = stack
        .admin(account, "PUT", &admin_path, Some(&settings))
        .await?;
    println!(
        "PUT {admin_path} (signed by account {}) -> HTTP {status}\n{}",
        procurement::demo::COUPA_MANAGEMENT_ACCOUNT,
        serde_json::to_string_pretty(&updated)?
    );
    if status != 200 {
        return Err("the admin API refused the settings".into());
    }

    banner("1. Coupa asks what the marketplace supports (ProfileRequest)");
    let profile = buyer::profile_request(&party);
    show("Coupa -> marketplace", "POST /punchout/setup", &profile);
    let reply = stack.post_cxml("/punchout/setup", &profile).await?;
    show(
        "marketplace -> Coupa",
        &format!("HTTP {}", reply.status),
        &reply.body,
    );

    banner("2. A Coupa user punches out (PunchOutSetupRequest)");
    let cookie = format!("demo-cookie-{}", std::process::id());
    let setup = buyer::setup_request(
        &party,
        &Punchout::new(&cookie, &coupa.url("/punchout/checkout")),
    );
    show("Coupa -> marketplace", "POST /punchout/setup", &setup);
    let reply = stack.post_cxml("/punchout/setup", &setup).await?;
    show(
        "marketplace -> Coupa",
        &format!("HTTP {}", reply.status),
        &reply.body,
    );
    let start_page = match cxml::parse(reply.body.as_bytes()).map_err(|r| r.text)?.body {
        cxml::Body::Response(cxml::Response {
            payload: Some(cxml::ResponsePayload::PunchOutSetup(s)),
            ..
        }) => s.start_page_url,
        _ => return Err("the setup request was not answered with a StartPage".into()),
    };

    banner("3. The user's browser opens the StartPage and searches the catalog");
    let page = stack.get(&start_page).await?;
    println!("GET {start_page} -> HTTP {}", page.status);
    if page.status != 200 {
        return Err(format!("the StartPage answered {}: {}", page.status, page.body).into());
    }
    let search = html::forms(&page.body)
        .into_iter()
        .find(|f| f.method == "get" && f.field("q").is_some())
        .ok_or("the catalog page has no search form")?;
    let mut query: Vec<(String, String)> = search.fields.clone();
    for field in query.iter_mut() {
        if field.0 == "q" {
            field.1 = "Ledgerly".into();
        }
    }
    let search_url = format!(
        "{}?{}",
        search.action,
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&query)
            .finish()
    );
    let results = stack.get(&search_url).await?;
    println!("GET {search_url} -> HTTP {}", results.status);
    let product_link = html::links(&results.body)
        .into_iter()
        .find(|l| l.contains("/catalog/products/prod-saas-upfront"))
        .ok_or("the search found no Ledgerly Analytics")?;
    let product = stack.get(&product_link).await?;
    println!("GET {product_link} -> HTTP {}", product.status);

    banner("4. The user presses Request approval; the browser carries the cart back to Coupa");
    let request_approval = html::forms(&product.body)
        .into_iter()
        .find(|f| f.action.ends_with("/catalog/request-approval"))
        .ok_or("the product page has no Request approval form")?;
    let handoff = stack
        .post_form(&request_approval.action, &request_approval.fields)
        .await?;
    println!(
        "POST {} -> HTTP {} (a page that posts the cart to Coupa)",
        request_approval.action, handoff.status
    );
    let cart_form = html::forms(&handoff.body)
        .into_iter()
        .find(|f| f.action == coupa.url("/punchout/checkout"))
        .ok_or("the hand-off page does not post to Coupa's BrowserFormPost URL")?;
    stack
        .post_form(&cart_form.action, &cart_form.fields)
        .await?;
    let arrived = coupa.wait_for(1, Duration::from_secs(10)).await;
    let cart = arrived.first().ok_or("no cart arrived at Coupa")?;
    let delivered = buyer::decode_cart(&cart.body)?;
    show(
        "browser -> Coupa",
        &format!("POST {} ({})", cart.path, delivered.encoding.field_name()),
        &delivered.xml,
    );
    let poom =
        buyer::cart_message(&delivered.doc).ok_or("the cart is not a PunchOutOrderMessage")?;

    banner("5. Coupa's approvals pass; Coupa sends the purchase order (OrderRequest)");
    let order_id = format!(
        "PO-DEMO-{}",
        time::OffsetDateTime::now_utc().unix_timestamp()
    );
    let po = PurchaseOrder::from_cart(&order_id, poom).to_xml(&party);
    show("Coupa -> marketplace", "POST /order", &po);
    let reply = stack.post_cxml("/order", &po).await?;
    show(
        "marketplace -> Coupa",
        &format!("HTTP {}", reply.status),
        &reply.body,
    );

    banner("6. The agreement, the subscriber's email and the invoice");
    let store = stack.store();
    for item in &poom.items {
        let Some(quote_id) = &item.item_id.supplier_part_auxiliary_id else {
            continue;
        };
        match store.quotes.get(&quote_id.as_str().into()).await? {
            Some(quote) => println!(
                "quote {quote_id}: {} (order {}, agreement {})",
                quote.status.as_str(),
                quote.order_id.as_deref().unwrap_or("-"),
                quote.agreement_id.as_deref().unwrap_or("-")
            ),
            None => println!("quote {quote_id}: not found"),
        }
    }
    for email in stack.sent_emails().await? {
        if email.body.contains(&order_id) {
            println!("email to {:?}: {}\n{}", email.to, email.subject, email.body);
        }
    }
    let wait = env_number("DEMO_WAIT_SECONDS", 60);
    println!(
        "waiting up to {wait}s for an invoice at {}",
        coupa.url("/invoices")
    );
    let seen = coupa.wait_for(2, Duration::from_secs(wait)).await;
    match seen.iter().find(|r| r.path.contains("invoice")) {
        Some(invoice) => show(
            "marketplace -> Coupa",
            &format!("POST {}", invoice.path),
            &invoice.text(),
        ),
        None => println!(
            "no invoice arrived (the integration is in test mode, or the pricing is not invoiced)"
        ),
    }
    println!("\nDone.");
    Ok(())
}
