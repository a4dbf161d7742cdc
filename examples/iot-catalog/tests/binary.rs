//! The built `iot-catalog` binary prints its route table (what `cargo
//! lambada routes` and `deploy` read) without any AWS configuration.

use std::process::Command;

#[test]
fn prints_its_route_table_without_aws() {
    let out = Command::new(env!("CARGO_BIN_EXE_iot-catalog"))
        .env("LAMBADA_ROUTES", "1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let routes: Vec<(&str, &str, &str, bool)> = manifest["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap(),
                r["apigw_path"].as_str().unwrap(),
                r["handler"].as_str().unwrap(),
                r["streams"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        routes,
        [
            ("POST", "/devices/activate", "activate", false),
            ("GET", "/devices/export.csv", "export", true),
        ]
    );
    let triggers = manifest["triggers"].as_array().unwrap();
    assert_eq!(triggers.len(), 1);
    assert_eq!(triggers[0]["kind"], "invoke");
    assert_eq!(triggers[0]["handler"], "register");
}
