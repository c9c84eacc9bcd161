//! Seeds the local stack: the demo catalog, two organisations and their integrations in test
//! mode (Coupa, and SAP Ariba through the local Ariba Network account, whose secret it puts in
//! Secrets Manager). Prints what a person needs as JSON. For local use only: it refuses any
//! endpoint but this machine's.

use procurement::demo;
use serde_json::json;
use time::OffsetDateTime;

/// The local stack's AWS endpoint must be this machine (moto): the demo data's secrets are
/// public, and must never reach a real account.
fn loopback_endpoint() -> Result<String, String> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").map_err(|_| {
        "AWS_ENDPOINT_URL is not set: seed-demo only seeds a local stack (make run)".to_string()
    })?;
    let host = endpoint
        .split_once("://")
        .map_or(endpoint.as_str(), |(_, rest)| rest)
        .split(['/', '?'])
        .next()
        .unwrap_or("");
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    match host {
        "127.0.0.1" | "localhost" | "::1" => Ok(endpoint),
        _ => Err(format!(
            "AWS_ENDPOINT_URL {endpoint} is not this machine: seed-demo only seeds a local stack (its secrets are public)"
        )),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let endpoint = loopback_endpoint()?;
    let config = procurement::Config::from_env()?;
    let sdk = aws_config::load_from_env().await;
    if aws_config::SdkConfig::endpoint_url(&sdk) != Some(endpoint.as_str()) {
        return Err("the SDK does not use AWS_ENDPOINT_URL; refusing to seed".into());
    }
    let store =
        procurement_aws::DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &config.table_name);
    let now = OffsetDateTime::now_utc();
    demo::seed(&store, now).await?;
    let network = demo::ariba_network();
    if let Some(secret_id) = &config.ariba_network_secret_id {
        aws_sdk_secretsmanager::Client::new(&sdk)
            .put_secret_value()
            .secret_id(secret_id)
            .secret_string(
                json!({
                    "supplier_anid": network.supplier_anid,
                    "shared_secret": network.current_secret().expose(),
                })
                .to_string(),
            )
            .send()
            .await?;
    }
    let out = json!({
        "products": demo::products(now).len(),
        "punchout_setup_url": config.url(procurement::paths::SETUP),
        "order_url": config.url(procurement::paths::ORDER),
        "coupa": {"org_id": demo::COUPA_ORG, "management_account_id": demo::COUPA_MANAGEMENT_ACCOUNT, "domain": demo::COUPA_DOMAIN, "identity": demo::COUPA_IDENTITY, "shared_secret": demo::COUPA_SECRET, "test_mode": true},
        "ariba": {"org_id": demo::ARIBA_ORG, "management_account_id": demo::ARIBA_MANAGEMENT_ACCOUNT, "anid": demo::ARIBA_IDENTITY, "test_anid": demo::ARIBA_TEST_IDENTITY, "test_mode": true},
        "ariba_network": {
            "sender_domain": procurement::network::SENDER_DOMAIN,
            "sender_identity": procurement::network::SENDER_IDENTITY,
            "shared_secret": network.current_secret().expose(),
            "supplier_anid": network.supplier_anid,
            "network_url": config.ariba_network_url,
            "buyers": [{"org_id": demo::ARIBA_ORG, "anid": demo::ARIBA_IDENTITY, "test_anid": demo::ARIBA_TEST_IDENTITY}],
        },
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
