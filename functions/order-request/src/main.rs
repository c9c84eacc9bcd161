use lambda_http::{Error, Request, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    procurement_aws::init_logging();
    let config = procurement::Config::from_env()?;
    let deps = procurement_aws::aws_deps(config).await;
    let deps = &deps;
    lambda_http::run(service_fn(move |event: Request| {
        order_request::handle(deps, event)
    }))
    .await
}
