use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    procurement_aws::init_logging();
    let config = procurement::Config::from_env()?;
    let deps = procurement_aws::aws_deps(config).await;
    let deps = &deps;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<EventBridgeEvent<Value>>| offer_expiry_check::handle(deps, event),
    ))
    .await
}
