//! Seeds the local stack: the demo catalog, two organisations and their integrations in test mode (Coupa and
//! SAP Ariba). Prints the credentials a person needs as JSON. For local use only.

use procurement::demo;
use serde_json::json;
use time::OffsetDateTime;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = procurement::Config::from_env()?;
    let now = OffsetDateTime::now_utc();
    let store = procurement_aws::DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&aws_config::load_from_env().await),
        &config.table_name,
    );
    demo::seed(&store, now).await?;
    let out = json!({
        "products": demo::products(now).len(),
        "punchout_setup_url": config.url(procurement::paths::SETUP),
        "order_url": config.url(procurement::paths::ORDER),
        "coupa": {"org_id": demo::COUPA_ORG, "management_account_id": demo::COUPA_MANAGEMENT_ACCOUNT, "domain": demo::COUPA_DOMAIN, "identity": demo::COUPA_IDENTITY, "shared_secret": demo::COUPA_SECRET, "test_mode": true},
        "ariba": {"org_id": demo::ARIBA_ORG, "management_account_id": demo::ARIBA_MANAGEMENT_ACCOUNT, "domain": demo::ARIBA_DOMAIN, "identity": demo::ARIBA_IDENTITY, "shared_secret": demo::ARIBA_SECRET, "test_mode": true},
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
