//! The supplier's Ariba Network account, from a Secrets Manager secret: read once at cold
//! start, and again (at most once per interval) when a presented shared secret matches none
//! of the known ones, so a rotation reaches warm instances without a redeploy.
//!
//! The secret's value is `{"supplier_anid": "AN…", "shared_secret": "…"}`. Its `AWSCURRENT`
//! version is the secret this deployment signs with; its `AWSPREVIOUS` version (Secrets
//! Manager keeps it when a new value is put) is still accepted, so the secret can be changed
//! here first and in the supplier's Ariba account afterwards without refusing traffic.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use cxml::SharedSecret;
use procurement::StoreError;
use procurement::network::{AribaNetwork, is_anid};
use procurement::ports::AribaNetworkAccount;
use serde::Deserialize;
use tokio::sync::Mutex;

#[derive(Deserialize)]
struct SecretValue {
    supplier_anid: String,
    shared_secret: String,
}

struct Cached {
    account: Option<AribaNetwork>,
    read_at: Instant,
}

pub struct SecretsManagerNetwork {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    min_interval: Duration,
    cached: Mutex<Cached>,
}

impl SecretsManagerNetwork {
    /// Reads the account now (cold start). A secret that cannot be read leaves the account
    /// unknown, logged: Ariba documents are then refused until it can be read.
    pub async fn load(
        client: aws_sdk_secretsmanager::Client,
        secret_id: &str,
        min_interval: Duration,
    ) -> Self {
        let account = match read(&client, secret_id).await {
            Ok(account) => Some(account),
            Err(e) => {
                tracing::error!(error = %e, "ARIBA_NETWORK_SECRET_UNREADABLE: the Ariba Network account could not be read");
                None
            }
        };
        Self {
            client,
            secret_id: secret_id.to_string(),
            min_interval,
            cached: Mutex::new(Cached {
                account,
                read_at: Instant::now(),
            }),
        }
    }
}

async fn value(
    client: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
    stage: &str,
) -> Result<Option<SecretValue>, StoreError> {
    let Some(text) = crate::secrets::secret_string(client, secret_id, stage).await? else {
        return Ok(None);
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| StoreError::Corrupt {
            key: format!("secret {secret_id} ({stage})"),
            // Never the value itself: it is the secret.
            reason: format!(
                "not {{\"supplier_anid\", \"shared_secret\"}} JSON (line {}, column {})",
                e.line(),
                e.column()
            ),
        })
}

async fn read(
    client: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
) -> Result<AribaNetwork, StoreError> {
    let current = value(client, secret_id, "AWSCURRENT")
        .await?
        .ok_or_else(|| StoreError::Unavailable(format!("secret {secret_id} has no value")))?;
    let anid = current.supplier_anid.trim().to_string();
    if !is_anid(&anid) || current.shared_secret.is_empty() {
        return Err(StoreError::Corrupt {
            key: format!("secret {secret_id}"),
            reason: "supplier_anid must be an ANID and shared_secret must not be empty".into(),
        });
    }
    let previous = value(client, secret_id, "AWSPREVIOUS")
        .await?
        .filter(|p| !p.shared_secret.is_empty() && p.shared_secret != current.shared_secret)
        .map(|p| SharedSecret::new(p.shared_secret));
    Ok(AribaNetwork::new(
        anid,
        SharedSecret::new(current.shared_secret),
        previous,
    ))
}

#[async_trait]
impl AribaNetworkAccount for SecretsManagerNetwork {
    async fn current(&self) -> Result<Option<AribaNetwork>, StoreError> {
        Ok(self.cached.lock().await.account.clone())
    }

    async fn reread(&self) -> Result<Option<AribaNetwork>, StoreError> {
        let mut cached = self.cached.lock().await;
        // A wrong secret is cheap to send: it must not make every request a Secrets Manager
        // call. What was read within the interval stands.
        if cached.read_at.elapsed() < self.min_interval && cached.account.is_some() {
            return Ok(cached.account.clone());
        }
        let account = read(&self.client, &self.secret_id).await?;
        cached.account = Some(account.clone());
        cached.read_at = Instant::now();
        tracing::info!("Ariba Network account read again from Secrets Manager");
        Ok(Some(account))
    }
}

/// A deployment without an Ariba Network account: Ariba documents are refused (and logged).
pub struct NoAribaNetwork;

#[async_trait]
impl AribaNetworkAccount for NoAribaNetwork {
    async fn current(&self) -> Result<Option<AribaNetwork>, StoreError> {
        Ok(None)
    }

    async fn reread(&self) -> Result<Option<AribaNetwork>, StoreError> {
        Ok(None)
    }
}
