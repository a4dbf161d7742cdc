//! Protected routes through `cargo lambada serve`, as API Gateway's Cognito
//! / JWT authorizer would treat them: examples/helloworld's `GET /me`
//! (`auth = "users"`, `scopes = ["profile"]`) with tokens signed here by a
//! freshly generated RSA key, verified by serve against a JWKS file
//! (`--jwks`). Every way a token can be wrong is refused with its own
//! reason in serve's log; the claims of a good one reach the handler in
//! the event format's own shape. `--claims` skips the token for
//! development, scopes still apply.

mod serve_support;

use lambada_test_support::jwt::{TestKey, now};
use serde_json::{Value, json};
use serve_support::{Serve, helloworld, send};

/// The issuer of helloworld's `users` user pool (Cargo.toml).
const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_HelloWrld";

/// A Cognito access token's claims, good for an hour.
fn access_token() -> Value {
    json!({
        "sub": "5f3b-ada",
        "iss": ISSUER,
        "client_id": "hello-client",
        "token_use": "access",
        "scope": "openid profile",
        "username": "ada",
        "exp": now() + 3600,
        "iat": now(),
    })
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn serve_with_keys(format: &str, jwks: &std::path::Path) -> Serve {
    Serve::start(
        &[
            "--manifest-path",
            &helloworld(),
            "--no-reload",
            "--format",
            format,
            "--jwks",
            jwks.to_str().unwrap(),
        ],
        &[],
    )
}

async fn me(port: u16, authorization: Option<&str>) -> (u16, String) {
    let headers: Vec<(&str, &str)> = authorization
        .map(|a| vec![("authorization", a)])
        .unwrap_or_default();
    let res = send(port, "GET", "/me", &headers, "").await;
    (res.status, res.text())
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_are_verified_like_api_gateway() {
    let key = TestKey::generate("k1");
    let impostor = TestKey::generate("k2");
    let dir = tempfile::tempdir().unwrap();
    let jwks = dir.path().join("jwks.json");
    std::fs::write(&jwks, TestKey::jwks_json(&[&key])).unwrap();

    for format in ["rest", "http"] {
        let s = serve_with_keys(format, &jwks);
        let good = key.sign(&access_token());
        // A good token, bare or as a bearer token.
        for header in [
            good.clone(),
            format!("Bearer {good}"),
            format!("bearer {good}"),
        ] {
            let (status, body) = me(s.port, Some(&header)).await;
            assert_eq!((status, body.as_str()), (200, "Hello, ada"), "{format}");
        }
        let cases: Vec<(&str, Option<String>, u16, &str)> = vec![
            ("no token", None, 401, "users:"),
            ("garbled", Some("Bearer not.a.jwt".into()), 401, "users:"),
            (
                "expired",
                Some(key.sign(&with(access_token(), "exp", json!(now() - 60)))),
                401,
                "expired",
            ),
            (
                "wrong issuer",
                Some(key.sign(&with(
                    access_token(),
                    "iss",
                    json!("https://evil.example.com"),
                ))),
                401,
                "issuer",
            ),
            (
                "wrong audience",
                Some(key.sign(&with(access_token(), "client_id", json!("other-client")))),
                401,
                "audience",
            ),
            (
                "bad signature",
                Some(impostor.sign_as("k1", &access_token())),
                401,
                "signature",
            ),
            (
                "unknown key",
                Some(impostor.sign(&access_token())),
                401,
                "k2",
            ),
            (
                "missing scope",
                Some(key.sign(&with(access_token(), "scope", json!("openid email")))),
                403,
                "profile",
            ),
        ];
        for (what, token, status, reason) in cases {
            let (got, body) = me(s.port, token.as_deref()).await;
            assert_eq!(got, status, "{format}, {what}: {body}");
            let message = if status == 403 {
                "Forbidden"
            } else {
                "Unauthorized"
            };
            assert_eq!(
                serde_json::from_str::<Value>(&body).unwrap(),
                json!({"message": message}),
                "{format}, {what}: API Gateway's own body"
            );
            // The log says why, as API Gateway's execution log would.
            assert!(
                s.proc
                    .wait_line(
                        serve_support::Stream::Err,
                        std::time::Duration::from_secs(10),
                        |l| { l.contains(&format!("GET /me -> {status}")) && l.contains(reason) }
                    )
                    .is_some(),
                "{format}, {what}: no log line with `{reason}`:\n{}",
                s.proc.output()
            );
        }
        // Public routes need nothing.
        let res = send(s.port, "GET", "/helloworld/5", &[], "").await;
        assert_eq!(res.status, 200);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn development_claims_skip_the_token_but_not_the_scopes() {
    let s = Serve::start(
        &[
            "--manifest-path",
            &helloworld(),
            "--no-reload",
            "--claims",
            r#"{"sub": "dev", "username": "dev-user", "scope": "profile"}"#,
        ],
        &[],
    );
    assert_eq!(me(s.port, None).await, (200, "Hello, dev-user".into()));
    drop(s);
    let s = Serve::start(
        &[
            "--manifest-path",
            &helloworld(),
            "--no-reload",
            "--claims",
            r#"{"sub": "dev"}"#,
        ],
        &[],
    );
    let (status, _) = me(s.port, None).await;
    assert_eq!(status, 403, "{}", s.proc.output());
}
