use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let deps = procurement_aws::deps_from_env(env!("CARGO_BIN_NAME")).await?;
    let deps = &deps;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<EventBridgeEvent<Value>>| offer_expiry_check::handle(deps, event),
    ))
    .await
}
