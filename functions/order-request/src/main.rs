use std::sync::Arc;

use lambda_http::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let deps = Arc::new(procurement_aws::deps_from_env(env!("CARGO_BIN_NAME")).await?);
    lambda_http::run(order_request::app(deps)).await
}
