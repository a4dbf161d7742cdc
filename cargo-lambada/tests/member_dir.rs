//! Cargo's convention: run from inside a workspace member's directory (or
//! any directory below it), `cargo lambada` works on that package, as
//! `cargo build` and `cargo run` do; from the workspace root, with several
//! binary packages, it asks which.

mod serve_support;

use serve_support::{Serve, cargo_lambada, send, workspace};

fn helloworld_dir() -> std::path::PathBuf {
    workspace().join("examples/helloworld")
}

#[test]
fn routes_and_package_from_the_members_directory() {
    for dir in [helloworld_dir(), helloworld_dir().join("src")] {
        let out = cargo_lambada()
            .current_dir(&dir)
            .args(["routes", "--json"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{}: {stderr}", dir.display());
        let routes: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            routes.to_string().contains("/helloworld/<id>"),
            "{}: {routes}",
            dir.display()
        );
    }
    let out_dir = tempfile::tempdir().unwrap();
    let out = cargo_lambada()
        .current_dir(helloworld_dir())
        .args(["package", "--debug", "--region", "us-east-1", "--out"])
        .arg(out_dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.path().join("openapi.json")).unwrap())
            .unwrap();
    assert!(doc["paths"].get("/helloworld/{id}").is_some(), "{doc}");

    // The workspace root has many binary packages: it asks.
    let out = cargo_lambada()
        .current_dir(workspace())
        .args(["routes"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("several binary packages"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_from_the_members_directory() {
    let s = Serve::start_in(&helloworld_dir(), &["--no-reload"], &[]);
    let res = send(s.port, "GET", "/helloworld/5", &[], "").await;
    assert_eq!(res.text(), "Hello world: 5");
}

#[test]
fn deploy_and_remove_from_the_members_directory() {
    let moto = lambada_test_support::Moto::start_with_recording();
    let bin = env!("CARGO_BIN_EXE_cargo-lambada");
    let run = moto.lambada_in(
        helloworld_dir(),
        bin,
        &["deploy", "--debug", "--json", "--bucket", "member-dir-code"],
        &[],
    );
    assert!(run.status.success(), "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["function"], "helloworld");
    assert!(report["url"].as_str().unwrap().contains("execute-api"));
    let run = moto.lambada_in(
        helloworld_dir().join("src"),
        bin,
        &["remove", "--bucket", "member-dir-code"],
        &[],
    );
    assert!(run.status.success(), "{}", run.stderr);
    assert!(run.stderr.contains("removed"), "{}", run.stderr);
}
