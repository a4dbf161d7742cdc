//! Signing keys for tests of JWT / Cognito authorizers: a fresh RSA key
//! (made by Debian's `openssl`), its JWKS, and RS256 tokens signed with it.

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use serde_json::{Value, json};

/// An RSA 2048 key pair with a key id.
#[derive(Debug)]
pub struct TestKey {
    kid: String,
    pem: Vec<u8>,
    /// The modulus, base64url without padding.
    n: String,
}

fn openssl(args: &[&str], dir: &Path) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl: {e}"));
    assert!(
        out.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

impl TestKey {
    /// A new key named `kid`.
    ///
    /// # Panics
    ///
    /// When `openssl` is missing or fails.
    pub fn generate(kid: &str) -> TestKey {
        let dir = tempfile::tempdir().expect("temp dir");
        openssl(
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
                "key.pem",
            ],
            dir.path(),
        );
        let pem = std::fs::read(dir.path().join("key.pem")).expect("key.pem");
        let modulus = String::from_utf8(openssl(
            &["rsa", "-in", "key.pem", "-noout", "-modulus"],
            dir.path(),
        ))
        .expect("modulus is text");
        let hex = modulus.trim().trim_start_matches("Modulus=");
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex modulus"))
            .collect();
        // `genpkey` uses the public exponent 65537 (AQAB).
        let text = String::from_utf8_lossy(&openssl(
            &["rsa", "-in", "key.pem", "-noout", "-text"],
            dir.path(),
        ))
        .into_owned();
        assert!(text.contains("65537"), "unexpected exponent:\n{text}");
        TestKey {
            kid: kid.to_owned(),
            pem,
            n: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
        }
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK.
    pub fn jwk(&self) -> Value {
        json!({"kty": "RSA", "kid": self.kid, "use": "sig", "alg": "RS256", "n": self.n, "e": "AQAB"})
    }

    /// A JWKS document of `keys`.
    pub fn jwks_json(keys: &[&TestKey]) -> String {
        json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()}).to_string()
    }

    /// An RS256 token of `claims` with this key's id.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_as(&self.kid, claims)
    }

    /// An RS256 token of `claims` signed by this key but naming the key
    /// `kid` (an impostor's token).
    ///
    /// # Panics
    ///
    /// When signing fails.
    pub fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(&self.pem).expect("an RSA PEM key");
        jsonwebtoken::encode(&header, claims, &key).expect("signing")
    }
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
