//! The plain HTTP server mode (for containers): the helloworld binary with
//! `LAMBADA_MODE=http` answers every route, and stops on SIGTERM.

mod serve_support;

use std::process::Command;
use std::time::Duration;

use serve_support::{BUILD_WAIT, Proc, Stream, check_helloworld, helloworld, target_dir};

#[tokio::test(flavor = "multi_thread")]
async fn helloworld_serves_plain_http() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--manifest-path",
            &helloworld(),
            "--bin",
            "helloworld",
        ])
        .env("CARGO_TARGET_DIR", target_dir())
        .status()
        .expect("cargo build");
    assert!(status.success());
    // Run a copy: a concurrent build may replace target/debug/helloworld.
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("helloworld");
    std::fs::copy(target_dir().join("debug/helloworld"), &binary).unwrap();
    let mut cmd = Command::new(&binary);
    cmd.env("LAMBADA_MODE", "http")
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env_remove("AWS_LAMBDA_RUNTIME_API");
    let mut p = Proc::spawn(cmd, "helloworld (HTTP mode)");
    let line = p
        .wait_line(Stream::Err, BUILD_WAIT, |l| {
            l.contains("listening on http://")
        })
        .unwrap_or_else(|| panic!("not listening:\n{}", p.output()));
    let port: u16 = line.rsplit(':').next().unwrap().trim().parse().unwrap();
    check_helloworld(port, "plain HTTP").await;
    let status = p
        .terminate(Duration::from_secs(30))
        .expect("stops on SIGTERM");
    assert!(status.success(), "{status}\n{}", p.output());
}
