//! The built `redirect` binary prints its route table (what `cargo lambada
//! routes` and `deploy` read) without any AWS configuration.

use std::process::Command;

#[test]
fn prints_its_route_table_without_aws() {
    let out = Command::new(env!("CARGO_BIN_EXE_redirect"))
        .env("LAMBADA_ROUTES", "1")
        .env("MOVED_TO", "not a URL: unread when listing routes")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let table: Vec<(&str, &str, &str)> = manifest["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap(),
                r["apigw_path"].as_str().unwrap(),
                r["handler"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        table,
        [
            ("POST", "/links", "create"),
            ("GET", "/{code}", "follow"),
            ("GET", "/moved/{rest+}", "moved"),
        ]
    );
}
