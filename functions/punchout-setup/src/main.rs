use lambda_http::{Error, Request, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let deps = procurement_aws::deps_from_env().await?;
    let deps = &deps;
    lambda_http::run(service_fn(move |event: Request| {
        punchout_setup::handle(deps, event)
    }))
    .await
}
