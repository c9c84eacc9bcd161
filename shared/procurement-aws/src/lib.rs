//! DynamoDB, SES v2 and SQS behind the domain's ports, and the one place SDK clients are built.

mod dynamo;
mod invoice_http;
mod network_secret;
#[cfg(feature = "test-util")]
pub mod recorded;
mod secrets;
mod ses;
mod sqs;

use std::sync::Arc;

pub use dynamo::DynamoStore;
pub use invoice_http::HttpInvoiceSender;
pub use network_secret::{NoAribaNetwork, SecretsManagerNetwork};
use procurement::{Config, Deps};
pub use secrets::{MIN_INVOICE_KEY_CHARS, read_invoice_key};
pub use ses::SesMailer;
pub use sqs::SqsQueue;

/// Loads AWS configuration (region, credentials, and `AWS_ENDPOINT_URL` for local stacks)
/// and builds the adapters. Call once per Lambda instance, in `main`.
pub async fn aws_deps(config: Config) -> Deps {
    let sdk = aws_config::load_from_env().await;
    deps_with_sdk(config, &sdk).await
}

/// The adapters on an SDK configuration the caller built (tests point it at moto); reads the
/// Ariba Network account's secret and the invoice key, when they are configured.
pub async fn deps_with_sdk(mut config: Config, sdk: &aws_config::SdkConfig) -> Deps {
    if let Some(secret_id) = &config.invoice_key_secret_id {
        config.invoice_secret_key =
            secrets::load_invoice_key(&aws_sdk_secretsmanager::Client::new(sdk), secret_id).await;
    }
    let ariba_network: Arc<dyn procurement::ports::AribaNetworkAccount> =
        match &config.ariba_network_secret_id {
            Some(secret_id) => Arc::new(
                SecretsManagerNetwork::load(
                    aws_sdk_secretsmanager::Client::new(sdk),
                    secret_id,
                    config.ariba_secret_reread,
                )
                .await,
            ),
            None => Arc::new(NoAribaNetwork),
        };
    let store = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(sdk),
        &config.table_name,
    ));
    let mailer = Arc::new(SesMailer::new(
        aws_sdk_sesv2::Client::new(sdk),
        &config.sender_email,
    ));
    let queue = Arc::new(SqsQueue::new(
        aws_sdk_sqs::Client::new(sdk),
        &config.invoice_queue_url,
    ));
    Deps::new(
        config,
        store,
        ariba_network,
        mailer,
        queue,
        Arc::new(HttpInvoiceSender::new()),
    )
}

/// JSON logs for CloudWatch, level from `RUST_LOG` (default info), no ANSI colours.
pub fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_target(false)
        .with_current_span(false)
        .without_time()
        .try_init();
}

/// What every function's `main` does first: JSON logging, configuration from the
/// environment, SDK clients. Once per Lambda instance.
pub async fn deps_from_env() -> Result<Deps, procurement::config::MissingVar> {
    init_logging();
    let config = Config::from_env()?;
    Ok(aws_deps(config).await)
}
