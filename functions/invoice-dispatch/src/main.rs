use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let deps = procurement_aws::deps_from_env(env!("CARGO_BIN_NAME")).await?;
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        invoice_dispatch::handle(deps, event)
    }))
    .await
}
