//! Seeds the local stack: the demo catalog, two organisations and their integrations in test
//! mode (Coupa, and SAP Ariba through the local Ariba Network account, whose secret it puts in
//! Secrets Manager). Prints what a person needs as JSON. For local use only: it refuses any
//! endpoint but this machine's.

use procurement::demo;
use serde_json::json;
use time::OffsetDateTime;

/// Whether `endpoint` is an http(s) URL naming this machine: a loopback IP address
/// (127.0.0.0/8, ::1) or `localhost`, without user info. Parsed as a URL (WHATWG), so
/// `http://127.0.0.1@aws.example/`, `http://127.0.0.1.aws.example/` or a decimal IP are seen for
/// the hosts they name.
fn is_loopback(endpoint: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(endpoint.trim()) else {
        return false;
    };
    if !matches!(url.scheme(), "http" | "https")
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return false;
    }
    // The parsed host: IPv4 normalised to dotted decimal, IPv6 in brackets.
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// The local stack's AWS endpoint must be this machine (moto): the demo data's secrets are
/// public, and must never reach a real account. `vars`: the environment. A service-specific
/// endpoint (`AWS_ENDPOINT_URL_<SERVICE>`, which the SDK prefers for that service) must be
/// this machine too, and endpoints may not be switched off (`AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`).
fn loopback_endpoint(vars: &[(String, String)]) -> Result<String, String> {
    let var = |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let endpoint = var("AWS_ENDPOINT_URL").ok_or_else(|| {
        "AWS_ENDPOINT_URL is not set: seed-demo only seeds a local stack (make run)".to_string()
    })?;
    if !is_loopback(&endpoint) {
        return Err(format!(
            "AWS_ENDPOINT_URL {endpoint} is not this machine: seed-demo only seeds a local stack (its secrets are public)"
        ));
    }
    for (name, value) in vars {
        if name.starts_with("AWS_ENDPOINT_URL_") && !is_loopback(value) {
            return Err(format!(
                "{name} {value} is not this machine: seed-demo only seeds a local stack (its secrets are public)"
            ));
        }
    }
    if var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    {
        return Err(
            "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is set: the SDK would ignore AWS_ENDPOINT_URL; refusing to seed".into(),
        );
    }
    Ok(endpoint)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let vars: Vec<(String, String)> = std::env::vars().collect();
    let endpoint = loopback_endpoint(&vars)?;
    let config = procurement::Config::from_env()?;
    let sdk = aws_config::load_from_env().await;
    if aws_config::SdkConfig::endpoint_url(&sdk) != Some(endpoint.as_str()) {
        return Err("the SDK does not use AWS_ENDPOINT_URL; refusing to seed".into());
    }
    // Each client is pinned to the checked endpoint, whatever a profile's service-specific
    // endpoint says.
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .endpoint_url(&endpoint)
            .build(),
    );
    let secretsmanager = aws_sdk_secretsmanager::Client::from_conf(
        aws_sdk_secretsmanager::config::Builder::from(&sdk)
            .endpoint_url(&endpoint)
            .build(),
    );
    let store = procurement_aws::DynamoStore::new(dynamodb, &config.table_name);
    let now = OffsetDateTime::now_utc();
    demo::seed(&store, now).await?;
    let network = demo::ariba_network();
    if let Some(secret_id) = &config.ariba_network_secret_id {
        secretsmanager
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

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn only_this_machine_is_an_endpoint_to_seed() {
        for local in [
            "http://127.0.0.1:5730",
            "http://127.0.0.1",
            "http://127.1.2.3:5000/",
            "http://localhost:5730",
            "http://LOCALHOST:5730",
            "http://[::1]:5730",
            "https://127.0.0.1:443",
            // The same address written in decimal: URL parsing normalises it.
            "http://2130706433:5730",
        ] {
            assert!(is_loopback(local), "{local}");
            assert_eq!(
                loopback_endpoint(&env(&[("AWS_ENDPOINT_URL", local)])).as_deref(),
                Ok(local)
            );
        }
        for remote in [
            "https://dynamodb.us-east-1.amazonaws.com",
            "http://10.0.0.5:5730",
            "http://0.0.0.0:5730",
            "http://127.0.0.1.nip.io:5730",
            "http://localhost.example.com",
            "http://127.0.0.1@dynamodb.us-east-1.amazonaws.com/",
            "http://user:pw@127.0.0.1:5730",
            "http://[::ffff:10.0.0.1]:5730",
            "ftp://127.0.0.1",
            "127.0.0.1:5730",
            "",
        ] {
            assert!(!is_loopback(remote), "{remote}");
            assert!(
                loopback_endpoint(&env(&[("AWS_ENDPOINT_URL", remote)])).is_err(),
                "{remote}"
            );
        }
        assert!(loopback_endpoint(&env(&[])).is_err());
    }

    #[test]
    fn a_service_endpoint_elsewhere_or_ignored_endpoints_are_refused() {
        let local = ("AWS_ENDPOINT_URL", "http://127.0.0.1:5730");
        let refused = loopback_endpoint(&env(&[
            local,
            (
                "AWS_ENDPOINT_URL_DYNAMODB",
                "https://dynamodb.us-east-1.amazonaws.com",
            ),
        ]))
        .unwrap_err();
        assert!(refused.contains("AWS_ENDPOINT_URL_DYNAMODB"), "{refused}");
        assert!(
            loopback_endpoint(&env(&[
                local,
                ("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:5731")
            ]))
            .is_ok()
        );
        assert!(
            loopback_endpoint(&env(&[
                local,
                ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
            ]))
            .is_err()
        );
    }
}
