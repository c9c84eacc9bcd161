//! `seed-demo` as a person runs it: pointed anywhere but this machine, it refuses before it
//! reads its configuration or makes any AWS call.

use std::process::Command;

fn seed_demo(env: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_seed-demo"));
    for (key, _) in std::env::vars() {
        if key.starts_with("AWS_") {
            cmd.env_remove(key);
        }
    }
    // Everything it would need to seed, so that only the endpoint can stop it.
    cmd.envs([
        ("TABLE_NAME", "procurement-local-Table"),
        (
            "INVOICE_QUEUE_URL",
            "https://sqs.us-east-1.amazonaws.com/123456789012/q",
        ),
        ("SENDER_EMAIL", "no-reply@marketplace.test"),
        ("PUBLIC_BASE_URL", "http://127.0.0.1:9000"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]);
    cmd.envs(env.iter().copied());
    let out = cmd.output().expect("seed-demo runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn seed_demo_refuses_an_endpoint_that_is_not_this_machine() {
    for (env, named) in [
        (
            vec![(
                "AWS_ENDPOINT_URL",
                "https://dynamodb.us-east-1.amazonaws.com",
            )],
            "AWS_ENDPOINT_URL https://dynamodb.us-east-1.amazonaws.com is not this machine",
        ),
        (
            vec![(
                "AWS_ENDPOINT_URL",
                "http://127.0.0.1@dynamodb.us-east-1.amazonaws.com",
            )],
            "is not this machine",
        ),
        (
            vec![
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
                (
                    "AWS_ENDPOINT_URL_DYNAMODB",
                    "https://dynamodb.us-east-1.amazonaws.com",
                ),
            ],
            "AWS_ENDPOINT_URL_DYNAMODB",
        ),
        (vec![], "AWS_ENDPOINT_URL is not set"),
    ] {
        let (ok, stderr) = seed_demo(&env);
        assert!(!ok, "{env:?}: seeded");
        assert!(stderr.contains(named), "{env:?}: {stderr}");
    }
}

#[test]
fn seed_demo_goes_on_with_a_loopback_endpoint() {
    // Nothing listens on port 1: it gets past the check and fails on the connection instead.
    let (ok, stderr) = seed_demo(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:1")]);
    assert!(!ok);
    assert!(!stderr.contains("is not this machine"), "{stderr}");
    assert!(!stderr.contains("refusing"), "{stderr}");
}
