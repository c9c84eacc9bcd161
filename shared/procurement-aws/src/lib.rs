//! DynamoDB, SES v2 and SQS behind the domain's ports, and the one place SDK clients are built.

mod dynamo;
mod invoice_http;
mod ses;
mod sqs;

use std::sync::Arc;

pub use dynamo::DynamoStore;
pub use invoice_http::HttpInvoiceSender;
use procurement::{Config, Deps};
pub use ses::SesMailer;
pub use sqs::SqsQueue;

/// Loads AWS configuration (region, credentials, and `AWS_ENDPOINT_URL` for local stacks)
/// and builds the three adapters. Call once per Lambda instance, in `main`.
pub async fn aws_deps(config: Config) -> Deps {
    let sdk = aws_config::load_from_env().await;
    deps_with_sdk(config, &sdk)
}

/// The adapters on an SDK configuration the caller built (tests point it at moto).
pub fn deps_with_sdk(config: Config, sdk: &aws_config::SdkConfig) -> Deps {
    Deps {
        store: Arc::new(DynamoStore::new(
            aws_sdk_dynamodb::Client::new(sdk),
            &config.table_name,
        )),
        mailer: Arc::new(SesMailer::new(
            aws_sdk_sesv2::Client::new(sdk),
            &config.sender_email,
        )),
        queue: Arc::new(SqsQueue::new(
            aws_sdk_sqs::Client::new(sdk),
            &config.invoice_queue_url,
        )),
        invoice_sender: Arc::new(HttpInvoiceSender::new()),
        config,
    }
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

/// Turns a domain reply into an API Gateway response.
pub fn into_response(
    reply: procurement::http::HttpReply,
) -> lambda_http::Response<lambda_http::Body> {
    let mut builder = lambda_http::Response::builder()
        .status(reply.status)
        .header("content-type", reply.content_type);
    for (name, value) in reply.headers {
        builder = builder.header(name, value);
    }
    builder
        .body(lambda_http::Body::Text(reply.body))
        .unwrap_or_else(|_| {
            let mut fallback = lambda_http::Response::new(lambda_http::Body::Empty);
            *fallback.status_mut() = lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR;
            fallback
        })
}

/// What every function's `main` does first: JSON logging, configuration from the
/// environment, SDK clients. Once per Lambda instance.
pub async fn deps_from_env() -> Result<Deps, procurement::config::MissingVar> {
    init_logging();
    let config = Config::from_env()?;
    Ok(aws_deps(config).await)
}
