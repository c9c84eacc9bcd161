//! The crate boundaries README's architecture section promises, checked on the dependency
//! graph cargo resolves: the domain depends on no Lambda, web or AWS crate, and what the
//! functions deploy carries no test code (fakes, demo data with public secrets, the recorded
//! DynamoDB client, the web test driver).

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

use serde_json::Value;

fn cargo(args: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("cargo prints UTF-8")
}

/// Crate names the domain must not reach, by prefix: the runtime, the web stack, the SDK.
const NOT_IN_THE_DOMAIN: &[&str] = &[
    "lambda_http",
    "lambda_runtime",
    "aws_lambda_events",
    "axum",
    "hyper",
    "tower",
    "maud",
    "aws-sdk-",
    "aws-config",
    "aws-smithy-",
    "aws-types",
    "reqwest",
];

#[test]
fn the_domain_depends_on_no_lambda_web_or_aws_crate() {
    let metadata: Value =
        serde_json::from_str(&cargo(&["metadata", "--format-version", "1", "--locked"]))
            .expect("cargo metadata is JSON");
    let names: HashMap<&str, &str> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let nodes: HashMap<&str, &Value> = metadata["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n))
        .collect();
    let domain = names
        .iter()
        .find(|(_, name)| **name == "procurement")
        .map(|(id, _)| *id)
        .expect("the procurement package");
    // Everything the domain library is built with: normal dependencies, transitively (its
    // dev-dependencies are test code and may use anything).
    let mut reached = BTreeSet::new();
    let mut todo = vec![domain];
    while let Some(id) = todo.pop() {
        for dep in nodes[id]["deps"].as_array().unwrap() {
            let normal = dep["dep_kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kind"].is_null());
            let dep_id = dep["pkg"].as_str().unwrap();
            if normal && reached.insert(names[dep_id]) {
                todo.push(dep_id);
            }
        }
    }
    assert!(
        reached.contains("cxml"),
        "the walk reaches the domain's own dependencies"
    );
    let forbidden: Vec<&&str> = reached
        .iter()
        .filter(|name| NOT_IN_THE_DOMAIN.iter().any(|p| name.starts_with(p)))
        .collect();
    assert!(
        forbidden.is_empty(),
        "the domain crate reaches {forbidden:?}: keep Lambda, HTTP and AWS in procurement-web and procurement-aws"
    );
}

#[test]
fn what_the_functions_deploy_carries_no_test_code() {
    for function in [
        "punchout-setup",
        "order-request",
        "invoice-dispatch",
        "offer-expiry-check",
    ] {
        // The features cargo turns on when it builds the function alone, as `sam build`
        // (cargo lambda build --bin <function>) does: normal and build edges, no dev ones.
        let tree = cargo(&[
            "tree",
            "--locked",
            "-p",
            function,
            "-e",
            "normal,build,features",
            "--prefix",
            "none",
        ]);
        assert!(
            tree.contains(&format!("{function} v")),
            "the tree of {function}"
        );
        for test_feature in [
            "procurement feature \"test-util\"",
            "procurement-aws feature \"test-util\"",
            "procurement-web feature \"test-util\"",
        ] {
            assert!(
                !tree.contains(test_feature),
                "{function} is built with {test_feature}"
            );
        }
    }
}
