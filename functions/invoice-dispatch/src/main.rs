use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    procurement_aws::init_logging();
    let config = procurement::Config::from_env()?;
    let deps = procurement_aws::aws_deps(config).await;
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        invoice_dispatch::handle(deps, event)
    }))
    .await
}
