//! Clients nobody here wrote: schemathesis (PyPI, installed by
//! `./scripts/test`) generates requests from each example's OpenAPI
//! document, the one the handlers' types describe, and checks every answer
//! against it: no 5xx, statuses, content types, headers and bodies as
//! documented, schema-valid requests accepted and invalid ones refused,
//! protected routes closed without the token, created resources found.
//!
//! - helloworld under `cargo lambada serve` (its `GET /openapi.json`),
//!   with a bearer token serve verifies (`--jwks`);
//! - redirect under `cargo lambada serve`, its links in moto's DynamoDB,
//!   an editor's token for `POST /links`;
//! - ecs-alb's two services in the HTTP server mode, as in a container.
//!
//! Bounded (`--max-examples`, a fixed seed, one worker): a run is a few
//! seconds. `SCHEMATHESIS_EXAMPLES=500` for a longer one.

mod serve_support;

use std::process::Command;
use std::time::Duration;

use lambada_test_support::jwt::{TestKey, now};
use lambada_test_support::{AWS_ENV, Moto, need, run_within};
use serve_support::{Serve, cargo_lambada, workspace};

/// Runs schemathesis on `schema` (a URL or a file) against `base`; fails
/// the test with its report unless every check passed.
fn schemathesis(schema: &str, base: &str, token: Option<&str>) {
    need("schemathesis");
    let examples = std::env::var("SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "40".into());
    let mut cmd = Command::new("schemathesis");
    cmd.args(["run", schema, "--url", base])
        .args(["--checks", "all", "--max-examples", &examples])
        .args(["--seed", "20261207", "--workers", "1"])
        .env("NO_COLOR", "1")
        .env("SCHEMATHESIS_HOOKS", "")
        .current_dir(std::env::temp_dir());
    if let Some(t) = token {
        cmd.args(["--header", &format!("Authorization: Bearer {t}")]);
    }
    let run = run_within(&mut cmd, Duration::from_secs(600), "schemathesis run");
    assert!(
        run.status.success(),
        "schemathesis found what the document does not say:\n{}\n{}",
        run.stdout,
        run.stderr
    );
    eprintln!(
        "{}",
        run.stdout
            .lines()
            .filter(|l| l.contains("generated"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// A token the JWKS of `key` verifies, for the Cognito pool `pool` (its
/// issuer) with `scope`.
fn token(key: &TestKey, pool: &str, scope: &str) -> String {
    key.sign(&serde_json::json!({
        "sub": "schemathesis",
        "username": "schemathesis",
        "iss": format!("https://cognito-idp.us-east-1.amazonaws.com/{pool}"),
        "client_id": "hello-client",
        "token_use": "access",
        "scope": scope,
        "exp": now() + 3600,
    }))
}

#[test]
fn helloworld_under_serve_is_what_its_document_says() {
    let key = TestKey::generate("st");
    let dir = tempfile::tempdir().unwrap();
    let jwks = dir.path().join("jwks.json");
    std::fs::write(&jwks, TestKey::jwks_json(&[&key])).unwrap();
    let s = Serve::start(
        &[
            "--manifest-path",
            &serve_support::helloworld(),
            "--no-reload",
            "--quiet",
            "--jwks",
            jwks.to_str().unwrap(),
        ],
        &[],
    );
    let base = format!("http://127.0.0.1:{}", s.port);
    schemathesis(
        &format!("{base}/openapi.json"),
        &base,
        Some(&token(&key, "us-east-1_HelloWrld", "profile")),
    );
}

#[test]
fn redirect_under_serve_is_what_its_document_says() {
    let moto = Moto::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(moto.create_table_with_key("st-links", "code"));
    let manifest = workspace().join("examples/redirect/Cargo.toml");
    let manifest = manifest.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("redirect.json");
    let out = cargo_lambada()
        .args(["openapi", "--manifest-path", manifest, "--out"])
        .arg(&doc)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = TestKey::generate("st");
    let jwks = dir.path().join("jwks.json");
    std::fs::write(&jwks, TestKey::jwks_json(&[&key])).unwrap();
    let mut env: Vec<(&str, &str)> = AWS_ENV.to_vec();
    let endpoint = moto.url();
    env.push(("AWS_ENDPOINT_URL", &endpoint));
    let s = Serve::start(
        &[
            "--manifest-path",
            manifest,
            "--no-reload",
            "--quiet",
            "--jwks",
            jwks.to_str().unwrap(),
            "--env",
            "LINKS_TABLE=st-links",
            "--env",
            "MOVED_TO=https://new.example.com/docs/",
        ],
        &env,
    );
    schemathesis(
        doc.to_str().unwrap(),
        &format!("http://127.0.0.1:{}", s.port),
        Some(&token(&key, "us-east-1_LinkEditrs", "links/write")),
    );
}

#[test]
fn ecs_alb_services_in_http_mode_are_what_their_documents_say() {
    let manifest = workspace().join("examples/ecs-alb/Cargo.toml");
    let manifest = manifest.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for bin in ["orders", "inventory"] {
        let doc = dir.path().join(format!("{bin}.json"));
        let out = cargo_lambada()
            .args([
                "openapi",
                "--manifest-path",
                manifest,
                "--bin",
                bin,
                "--out",
            ])
            .arg(&doc)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The binary cargo lambada just built, as a container runs it.
        let binary = serve_support::target_dir().join("debug").join(bin);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(&binary)
            .env("LAMBADA_MODE", "http")
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env_remove("AWS_LAMBDA_RUNTIME_API")
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
        let base = format!("http://127.0.0.1:{port}");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "{bin} does not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        schemathesis(doc.to_str().unwrap(), &base, None);
        let _ = child.kill();
        let _ = child.wait();
    }
}
