//! `psi-admin`: see `psi-admin --help` and README "Admin tool".

use std::process::ExitCode;

use psi_admin::api::Failure;
use psi_admin::client::Client;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let invocation = match psi_admin::cli::parse(std::env::args_os()) {
        Ok(invocation) => invocation,
        Err(e) => {
            // Help and version print to stdout and exit 0; usage errors exit 2.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    let json = invocation.global.json;
    let outcome = match Client::from_environment(&invocation.global).await {
        Ok(client) => psi_admin::run(&invocation, &client).await,
        Err(failure) => Err(failure),
    };
    match outcome {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(failure) => {
            report(&failure, json);
            ExitCode::from(u8::try_from(failure.exit_code()).unwrap_or(1))
        }
    }
}

fn report(failure: &Failure, json: bool) {
    if json {
        eprintln!("{}", failure.to_json());
    } else {
        eprintln!("psi-admin: {failure}");
    }
}
