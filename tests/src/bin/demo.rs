//! `make demo`: procurement round trips against the stack `make run` started, played as the
//! buyer's procurement system and the buyer's browser would, printing every cXML exchange: a
//! Coupa buyer (ending with the invoice, with its PaymentTerm, TaxDetail and part number, and an
//! Open Buy search as Coupa's in-tool search calls it) and a SAP Ariba buyer through the local Ariba Network
//! (ending with the order confirmation the Network receives).
//!
//! Environment: BUYER_PORT (9100: where the stand-in procurement systems receive carts and
//! invoices; the seeded Coupa integration's invoice URL points there), DEMO_WAIT_SECONDS (60:
//! how long to wait for the invoice and the confirmation).

use std::time::Duration;

use e2e::admin_tool::{Signer, psi_admin};
use e2e::html;
use e2e::procurement_system::{self as buyer, Party, Punchout, PurchaseOrder};
use e2e::{BuyerEndpoint, Error, LocalStack};

fn banner(step: &str) {
    println!("\n== {step}");
}

/// Prints an exchange; shared secrets are masked even here (habits travel).
fn show(direction: &str, what: &str, body: &str) {
    println!("-- {direction}: {what}");
    println!("{}", cxml::mask_shared_secrets(body.trim_end()));
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

/// One buyer's round trip: who sends, what the user buys, where its admin signs from.
struct Trip {
    system: &'static str,
    party: Party,
    org_id: &'static str,
    management_account: &'static str,
    /// The path on the buyer endpoint where this system's BrowserFormPost lands.
    checkout: &'static str,
    query: &'static str,
    product_id: &'static str,
}

async fn run() -> Result<(), Error> {
    let stack = LocalStack::connect().await?;
    // The admins sign with their own (local) credentials; the admin REST API stand-in checks
    // each signature and the resource policy, as API Gateway does.
    let admin_api = stack.admin_api()?.to_string();
    let port = env_number("BUYER_PORT", 9100) as u16;
    let buyer_endpoint = BuyerEndpoint::start(port).await.map_err(|e| {
        format!("cannot listen on 127.0.0.1:{port} for the buyer ({e}); set BUYER_PORT")
    })?;
    let wait = Duration::from_secs(env_number("DEMO_WAIT_SECONDS", 60));

    let coupa = Trip {
        system: "Coupa",
        party: Party::coupa_demo(),
        org_id: procurement::demo::COUPA_ORG,
        management_account: procurement::demo::COUPA_MANAGEMENT_ACCOUNT,
        checkout: "/coupa/punchout/checkout",
        query: "Ledgerly",
        product_id: "prod-saas-upfront",
    };
    let order_id = round_trip(&stack, &admin_api, &buyer_endpoint, &coupa).await?;
    println!(
        "waiting up to {}s for an invoice at {}",
        wait.as_secs(),
        buyer_endpoint.url("/invoices")
    );
    let seen = buyer_endpoint
        .wait_until(wait, |r| {
            r.path.contains("invoice") && r.text().contains(&order_id)
        })
        .await;
    match seen {
        Some(invoice) => show(
            "marketplace -> Coupa",
            &format!("POST {}", invoice.path),
            &invoice.text(),
        ),
        None => println!(
            "no invoice arrived (the integration is in test mode, or the pricing is not invoiced)"
        ),
    }

    open_buy_search(&stack, &coupa.party, coupa.query).await?;

    let ariba = Trip {
        system: "SAP Ariba",
        party: Party::ariba_demo(),
        org_id: procurement::demo::ARIBA_ORG,
        management_account: procurement::demo::ARIBA_MANAGEMENT_ACCOUNT,
        checkout: "/ariba/punchout/checkout",
        query: "日本語",
        product_id: procurement::demo::INTERNATIONAL_PRODUCT,
    };
    let order_id = round_trip(&stack, &admin_api, &buyer_endpoint, &ariba).await?;
    println!(
        "waiting up to {}s for the order confirmation at the Ariba Network ({})",
        wait.as_secs(),
        e2e::stack::local_dir()
            .join("ariba-network.jsonl")
            .display()
    );
    let deadline = tokio::time::Instant::now() + wait;
    let confirmation = loop {
        let found = stack
            .network_receipts()
            .into_iter()
            .find(|r| r.order_id.as_deref() == Some(order_id.as_str()));
        if found.is_some() || tokio::time::Instant::now() >= deadline {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    match confirmation {
        Some(receipt) => {
            show(
                "marketplace -> Ariba Network",
                "POST (ConfirmationRequest)",
                &receipt.body,
            );
            println!(
                "-- Ariba Network -> marketplace: {} {}",
                receipt.code, receipt.text
            );
        }
        None => println!("no order confirmation reached the Ariba Network"),
    }
    println!("\nDone.");
    Ok(())
}

/// Coupa's in-tool search as Coupa calls it (Open Buy API Reference): authentication with the
/// buyer's punchout credential and secret, then a search with the token it answered.
async fn open_buy_search(stack: &LocalStack, party: &Party, query: &str) -> Result<(), Error> {
    banner("Coupa's in-tool search (Open Buy): authentication, then search");
    let client = reqwest::Client::new();
    let action = |name: &str| stack.url(&format!("/openbuy/{name}/v1.0.0"));
    let credentials = format!("{}/{}:{}", party.domain, party.identity, party.secret);
    let reply = client
        .post(action("authentication"))
        .json(
            &serde_json::json!({"credentials": credentials, "email": "jim.halpert@buyer.example"}),
        )
        .send()
        .await?;
    let status = reply.status().as_u16();
    let answer: serde_json::Value = reply.json().await?;
    println!(
        "POST {} {{\"credentials\": \"{}/{}:<shared secret>\", ...}} -> HTTP {status} (a token valid 30 minutes)",
        action("authentication"),
        party.domain,
        party.identity
    );
    let token = answer["token"]
        .as_str()
        .ok_or_else(|| format!("Open Buy authentication answered {status}: {answer}"))?;
    let body = serde_json::json!({"query": query, "page_number": 1});
    let reply = client
        .post(action("search"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await?;
    let status = reply.status().as_u16();
    let answer: serde_json::Value = reply.json().await?;
    show(
        "Coupa -> marketplace -> Coupa",
        &format!(
            "POST {} {body} (Authorization: Bearer <token>) -> HTTP {status}",
            action("search")
        ),
        &serde_json::to_string_pretty(&answer)?,
    );
    Ok(())
}

/// Test mode off, setup, search, Request approval, the cart back in the procurement system, the
/// purchase order, the agreement and the subscriber's email; returns the PO number.
async fn round_trip(
    stack: &LocalStack,
    admin_api: &str,
    buyer_endpoint: &BuyerEndpoint,
    trip: &Trip,
) -> Result<String, Error> {
    let system = trip.system;
    let party = &trip.party;
    let form_post = buyer_endpoint.url(trip.checkout);
    println!(
        "\n\n#### Round trip against {} as the demo {system} buyer ({}/{}){}",
        stack.api,
        party.domain,
        party.identity,
        match &party.network {
            Some(route) => format!(
                ", through the Ariba Network (supplier {}, Sender AribaNetworkUserId)",
                route.supplier_anid
            ),
            None => String::new(),
        }
    );

    banner(&format!(
        "0. The buyer's admin finishes testing: test mode off{}",
        if party.network.is_none() {
            ", invoices to Coupa"
        } else {
            ""
        }
    ));
    // The admin tool, signed as the organisation's management account.
    let invoice_url = buyer_endpoint.url("/invoices");
    let mut args = vec!["update", trip.org_id, "--test-mode", "off"];
    if party.network.is_none() {
        args.extend(["--invoice-url", invoice_url.as_str()]);
    }
    println!(
        "$ psi-admin {}   (signed as account {}, through {admin_api})",
        args.join(" "),
        trip.management_account
    );
    let run = psi_admin(
        admin_api,
        &Signer::local(stack, trip.management_account)?,
        &args,
    )
    .await?;
    print!("{}", run.stdout);
    if run.code != Some(0) {
        return Err(format!("psi-admin refused: {}", run.stderr.trim()).into());
    }

    banner(&format!(
        "1. {system} asks what the marketplace supports (ProfileRequest)"
    ));
    let profile = buyer::profile_request(party);
    show(
        &format!("{system} -> marketplace"),
        "POST /punchout/setup",
        &profile,
    );
    let reply = stack.post_cxml("/punchout/setup", &profile).await?;
    show(
        &format!("marketplace -> {system}"),
        &format!("HTTP {}", reply.status),
        &reply.body,
    );

    banner(&format!(
        "2. A {system} user punches out (PunchOutSetupRequest)"
    ));
    let cookie = format!("demo-cookie-{}-{}", trip.checkout.len(), std::process::id());
    let setup = buyer::setup_request(party, &Punchout::new(&cookie, &form_post));
    show(
        &format!("{system} -> marketplace"),
        "POST /punchout/setup",
        &setup,
    );
    let reply = stack.post_cxml("/punchout/setup", &setup).await?;
    show(
        &format!("marketplace -> {system}"),
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

    banner(&format!(
        "3. The user's browser opens the StartPage and searches the catalog for {:?}",
        trip.query
    ));
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
            field.1 = trip.query.into();
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
        .find(|l| l.contains(&format!("/catalog/products/{}", trip.product_id)))
        .ok_or_else(|| format!("the search found no {}", trip.product_id))?;
    let product = stack.get(&product_link).await?;
    println!("GET {product_link} -> HTTP {}", product.status);

    banner(&format!(
        "4. The user presses Request approval; the browser carries the cart back to {system}"
    ));
    let request_approval = html::forms(&product.body)
        .into_iter()
        .find(|f| f.action.ends_with("/catalog/request-approval"))
        .ok_or("the product page has no Request approval form")?;
    let handoff = stack
        .post_form(&request_approval.action, &request_approval.fields)
        .await?;
    println!(
        "POST {} -> HTTP {} (a page that posts the cart to {system})",
        request_approval.action, handoff.status
    );
    let cart_form = html::forms(&handoff.body)
        .into_iter()
        .find(|f| f.action == form_post)
        .ok_or_else(|| {
            format!("the hand-off page does not post to {system}'s BrowserFormPost URL")
        })?;
    stack
        .post_form(&cart_form.action, &cart_form.fields)
        .await?;
    let cart = buyer_endpoint
        .wait_until(Duration::from_secs(10), |r| r.path == trip.checkout)
        .await
        .ok_or_else(|| format!("no cart arrived at {system}"))?;
    let delivered = buyer::decode_cart(&cart.body)?;
    show(
        &format!("browser -> {system}"),
        &format!("POST {} ({})", cart.path, delivered.encoding.field_name()),
        &delivered.xml,
    );
    let poom =
        buyer::cart_message(&delivered.doc).ok_or("the cart is not a PunchOutOrderMessage")?;

    banner(&format!(
        "5. {system}'s approvals pass; {system} sends the purchase order (OrderRequest)"
    ));
    let order_id = format!(
        "PO-DEMO-{}",
        time::OffsetDateTime::now_utc().unix_timestamp_nanos()
    );
    let po = PurchaseOrder::from_cart(&order_id, poom).to_xml(party);
    show(&format!("{system} -> marketplace"), "POST /order", &po);
    let reply = stack.post_cxml("/order", &po).await?;
    show(
        &format!("marketplace -> {system}"),
        &format!("HTTP {}", reply.status),
        &reply.body,
    );

    banner("6. The agreement and the subscriber's email");
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
    Ok(order_id)
}
