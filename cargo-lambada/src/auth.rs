//! Authorizers by configuration: Cognito user pools and JWT issuers, and
//! the verification of their tokens that `cargo lambada serve` does
//! locally, as API Gateway does before a protected route runs.
//!
//! ```toml
//! [package.metadata.lambada.authorizers.users]
//! type = "cognito"
//! user_pool_arns = ["arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbCdEf"]
//! audience = ["4pbc5ee9ju0b4e0b0k5fjb7f0"]   # app client ids (optional)
//!
//! [package.metadata.lambada.authorizers.partners]
//! type = "jwt"
//! issuer = "https://auth.example.com/"
//! audience = ["https://api.example.com"]
//! ```
//!
//! A route names one with `auth = "users"` (and `scopes = […]`).
//! Verification follows API Gateway's JWT authorizer: the token (bare or
//! after `Bearer `) in the `identity` header, signed by a key of the JWKS
//! (chosen by `kid`, with an algorithm of that key's type, never `none` or
//! HMAC), not expired and not before its `nbf`, from the issuer, for one of
//! the audiences (`aud`, or `client_id` in Cognito access tokens), and with
//! one of the route's scopes (`scope` or `scp`).

use std::path::Path;

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Which kind of authorizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthorizerKind {
    /// A Cognito user pool (REST APIs: a `cognito_user_pools` authorizer).
    Cognito,
    /// Any OpenID Connect / JWT issuer (API Gateway validates these on
    /// HTTP APIs).
    Jwt,
}

fn default_identity() -> String {
    "Authorization".into()
}

/// `[package.metadata.lambada.authorizers.NAME]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizerConfig {
    /// `cognito` or `jwt`.
    #[serde(rename = "type")]
    pub kind: AuthorizerKind,
    /// The issuer (`iss`): required for `jwt`; for `cognito`, derived from
    /// the first user pool unless given.
    #[serde(default)]
    pub issuer: Option<String>,
    /// Accepted audiences (`aud`, or `client_id`): required for `jwt`;
    /// for `cognito`, the app client ids (optional).
    #[serde(default)]
    pub audience: Vec<String>,
    /// The user pools (`cognito`).
    #[serde(default)]
    pub user_pool_arns: Vec<String>,
    /// The request header carrying the token.
    #[serde(default = "default_identity")]
    pub identity: String,
}

/// `(region, pool id)` of a user pool ARN.
fn pool_of(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:aws:cognito-idp:")?;
    let mut parts = rest.splitn(3, ':');
    let (region, account, resource) = (parts.next()?, parts.next()?, parts.next()?);
    let pool = resource.strip_prefix("userpool/")?;
    let ok = !region.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && pool.starts_with(&format!("{region}_"))
        && pool.len() > region.len() + 1
        && pool
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    ok.then_some((region, pool))
}

impl AuthorizerConfig {
    /// Checks the settings of the authorizer `name`: every message names
    /// the authorizer and the key.
    pub fn validate(&self, name: &str) -> Result<(), String> {
        let at = format!("authorizer `{name}`");
        if name == "none" {
            return Err(format!(
                "{at}: `none` marks public routes (`auth = \"none\"`); name the authorizer otherwise"
            ));
        }
        lambada_path::authorizer_name(name).map_err(|e| format!("{at}: {e}"))?;
        if let Some(iss) = &self.issuer {
            let local = ["http://localhost", "http://127.0.0.1"]
                .iter()
                .any(|p| iss.starts_with(p));
            if !iss.starts_with("https://") && !local {
                return Err(format!(
                    "{at}: `issuer` `{iss}` must be an https:// URL (http:// only for localhost)"
                ));
            }
        }
        if self.identity.is_empty() || http::HeaderName::try_from(self.identity.as_str()).is_err() {
            return Err(format!(
                "{at}: `identity` `{}` is not a header name",
                self.identity
            ));
        }
        match self.kind {
            AuthorizerKind::Jwt => {
                if self.issuer.is_none() {
                    return Err(format!("{at}: a `jwt` authorizer needs `issuer`"));
                }
                if self.audience.is_empty() {
                    return Err(format!(
                        "{at}: a `jwt` authorizer needs `audience` (at least one)"
                    ));
                }
                if !self.user_pool_arns.is_empty() {
                    return Err(format!(
                        "{at}: `user_pool_arns` is for `type = \"cognito\"`"
                    ));
                }
            }
            AuthorizerKind::Cognito => {
                if self.user_pool_arns.is_empty() {
                    return Err(format!(
                        "{at}: a `cognito` authorizer needs `user_pool_arns` (at least one)"
                    ));
                }
                if let Some(bad) = self.user_pool_arns.iter().find(|a| pool_of(a).is_none()) {
                    return Err(format!(
                        "{at}: `{bad}` is not a user pool ARN (arn:aws:cognito-idp:REGION:ACCOUNT:userpool/REGION_ID)"
                    ));
                }
            }
        }
        Ok(())
    }

    /// The `iss` tokens must carry: `issuer`, else (Cognito) the first
    /// pool's `https://cognito-idp.REGION.amazonaws.com/POOL_ID`.
    pub fn issuer_url(&self) -> Option<String> {
        self.issuer.clone().or_else(|| {
            let (region, pool) = pool_of(self.user_pool_arns.first()?)?;
            Some(format!("https://cognito-idp.{region}.amazonaws.com/{pool}"))
        })
    }
}

/// The keys tokens are verified with, by `kid`.
#[derive(Debug, Clone)]
pub struct Jwks(JwkSet);

impl Jwks {
    /// A JWKS document (`{"keys": […]}`).
    pub fn from_json(text: &str) -> Result<Jwks, String> {
        let set: JwkSet = serde_json::from_str(text).map_err(|e| format!("not a JWKS: {e}"))?;
        if set.keys.is_empty() {
            return Err("the JWKS has no keys".into());
        }
        Ok(Jwks(set))
    }

    /// [`Jwks::from_json`] of a file.
    pub fn from_file(path: &Path) -> Result<Jwks, String> {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("--jwks {}: {e}", path.display()))?;
        Jwks::from_json(&text).map_err(|e| format!("--jwks {}: {e}", path.display()))
    }

    fn key(&self, kid: Option<&str>) -> Result<&Jwk, String> {
        match kid {
            Some(kid) => self
                .0
                .find(kid)
                .ok_or_else(|| format!("no key `{kid}` in the JWKS")),
            None if self.0.keys.len() == 1 => Ok(&self.0.keys[0]),
            None => Err("the token names no key (`kid`) and the JWKS has several".into()),
        }
    }
}

/// The outcome of [`verify`].
#[derive(Debug)]
pub enum Verdict {
    /// Authorized, with the token's claims and scopes.
    Allow {
        /// The claims.
        claims: Map<String, Value>,
        /// The scopes (`scope` / `scp`).
        scopes: Vec<String>,
    },
    /// 401: no token, or not a valid one, and why.
    Unauthorized(String),
    /// 403: a valid token without any of the route's scopes, and why.
    Forbidden(String),
}

/// Whether `alg` belongs to the key's type (never HMAC or `none`).
fn fits(alg: Algorithm, key: &Jwk) -> bool {
    use jsonwebtoken::AlgorithmFamily as F;
    matches!(
        (alg.family(), &key.algorithm),
        (F::Rsa, AlgorithmParameters::RSA(_))
            | (F::Ec, AlgorithmParameters::EllipticCurve(_))
            | (F::Ed, AlgorithmParameters::OctetKeyPair(_))
    )
}

fn seconds(claims: &Map<String, Value>, name: &str) -> Result<Option<u64>, String> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .map(Some)
            .ok_or_else(|| format!("`{name}` is not a time in seconds")),
    }
}

/// Verifies the token in `header` (the identity header's value) for a
/// route needing one of `route_scopes`, at `now` (seconds since the epoch).
pub fn verify(
    cfg: &AuthorizerConfig,
    jwks: &Jwks,
    header: Option<&str>,
    route_scopes: &[String],
    now: u64,
) -> Verdict {
    match check(cfg, jwks, header, now) {
        Err(why) => Verdict::Unauthorized(why),
        Ok(claims) => {
            let scopes = lambada::auth::token_scopes(&claims);
            if route_scopes.is_empty() || route_scopes.iter().any(|s| scopes.contains(s)) {
                Verdict::Allow { claims, scopes }
            } else {
                Verdict::Forbidden(format!(
                    "missing scope: one of {} (the token has {})",
                    list(route_scopes),
                    if scopes.is_empty() {
                        "none".to_owned()
                    } else {
                        list(&scopes)
                    }
                ))
            }
        }
    }
}

fn list(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Everything but the scopes: the token's claims, or why it is refused.
fn check(
    cfg: &AuthorizerConfig,
    jwks: &Jwks,
    header: Option<&str>,
    now: u64,
) -> Result<Map<String, Value>, String> {
    let raw = header
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or_else(|| format!("no `{}` header", cfg.identity))?;
    let token = match raw.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => raw,
    };
    let head = jsonwebtoken::decode_header(token).map_err(|e| format!("not a JWT ({e})"))?;
    let jwk = jwks.key(head.kid.as_deref())?;
    let kid = head.kid.as_deref().unwrap_or("(the only key)");
    if !fits(head.alg, jwk) {
        return Err(format!("algorithm {:?} does not fit key `{kid}`", head.alg));
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("key `{kid}` is unusable: {e}"))?;
    // The signature here; the times, issuer and audience below, against
    // `now` and with messages that say which.
    let mut v = Validation::new(head.alg);
    v.validate_exp = false;
    v.validate_nbf = false;
    v.validate_aud = false;
    v.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &v).map_err(|e| match e
        .kind()
    {
        jsonwebtoken::errors::ErrorKind::InvalidSignature => {
            format!("signature does not verify with key `{kid}`")
        }
        _ => format!("not a valid JWT ({e})"),
    })?;
    let claims = data.claims;
    match seconds(&claims, "exp")? {
        None => return Err("the token has no `exp`".into()),
        Some(exp) if exp <= now => return Err(format!("token expired at {exp} (now {now})")),
        Some(_) => {}
    }
    if let Some(nbf) = seconds(&claims, "nbf")?
        && nbf > now
    {
        return Err(format!("token not valid before {nbf} (now {now})"));
    }
    if let Some(iat) = seconds(&claims, "iat")?
        && iat > now
    {
        return Err(format!("token issued in the future ({iat}, now {now})"));
    }
    let want = cfg.issuer_url().unwrap_or_default();
    match claims.get("iss").and_then(Value::as_str) {
        Some(iss) if iss == want => {}
        Some(iss) => return Err(format!("issuer `{iss}` is not `{want}`")),
        None => return Err("the token has no `iss`".into()),
    }
    if !cfg.audience.is_empty() {
        let given: Vec<&str> = match claims.get("aud").or_else(|| claims.get("client_id")) {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !given.iter().any(|g| cfg.audience.iter().any(|a| a == g)) {
            return Err(format!(
                "audience {} is not one of {}",
                if given.is_empty() {
                    "(none)".to_owned()
                } else {
                    given
                        .iter()
                        .map(|g| format!("`{g}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                list(&cfg.audience)
            ));
        }
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambada_test_support::jwt::TestKey;
    use serde_json::json;

    const NOW: u64 = 1_800_000_000;
    const ARN: &str = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbCdEf";

    fn cfg() -> AuthorizerConfig {
        AuthorizerConfig {
            kind: AuthorizerKind::Jwt,
            issuer: Some("https://auth.example.com/".into()),
            audience: vec!["api".into()],
            user_pool_arns: vec![],
            identity: "Authorization".into(),
        }
    }

    fn claims() -> Value {
        json!({"sub": "u-1", "iss": "https://auth.example.com/", "aud": "api",
               "exp": NOW + 60, "iat": NOW - 1, "scope": "orders/read profile"})
    }

    fn with(key: &str, v: Value) -> Value {
        let mut c = claims();
        c[key] = v;
        c
    }

    struct Keys {
        key: TestKey,
        other: TestKey,
        jwks: Jwks,
    }

    fn keys() -> &'static Keys {
        static KEYS: std::sync::OnceLock<Keys> = std::sync::OnceLock::new();
        KEYS.get_or_init(|| {
            let key = TestKey::generate("k1");
            let other = TestKey::generate("k2");
            let jwks = Jwks::from_json(&TestKey::jwks_json(&[&key])).unwrap();
            Keys { key, other, jwks }
        })
    }

    fn run(token: &str, scopes: &[&str]) -> Verdict {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        verify(&cfg(), &keys().jwks, Some(token), &scopes, NOW)
    }

    fn refused(v: Verdict, needle: &str) {
        match v {
            Verdict::Unauthorized(why) => assert!(why.contains(needle), "{why}"),
            other => panic!("expected 401 with `{needle}`, got {other:?}"),
        }
    }

    #[test]
    fn a_good_token_bare_or_bearer() {
        let k = keys();
        let t = k.key.sign(&claims());
        for header in [t.clone(), format!("Bearer {t}"), format!("BEARER {t}")] {
            match run(&header, &["orders/read"]) {
                Verdict::Allow { claims, scopes } => {
                    assert_eq!(claims["sub"], "u-1");
                    assert_eq!(scopes, ["orders/read", "profile"]);
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn every_way_a_token_is_wrong() {
        let k = keys();
        refused(run(&k.key.sign(&with("exp", json!(NOW))), &[]), "expired");
        refused(
            run(&k.key.sign(&with("nbf", json!(NOW + 5))), &[]),
            "not valid before",
        );
        refused(
            run(&k.key.sign(&with("iat", json!(NOW + 5))), &[]),
            "future",
        );
        refused(
            run(&k.key.sign(&with("aud", json!("other"))), &[]),
            "audience `other`",
        );
        refused(
            run(
                &k.key.sign(&with("iss", json!("https://evil.example.com/"))),
                &[],
            ),
            "issuer `https://evil.example.com/`",
        );
        refused(run(&k.other.sign_as("k1", &claims()), &[]), "signature");
        refused(run(&k.other.sign(&claims()), &[]), "no key `k2`");
        refused(run("Bearer not-a-token", &[]), "not a JWT");
        let mut no_exp = claims();
        no_exp.as_object_mut().unwrap().remove("exp");
        refused(run(&k.key.sign(&no_exp), &[]), "no `exp`");
        refused(
            verify(&cfg(), &k.jwks, None, &[], NOW),
            "no `Authorization` header",
        );
    }

    #[test]
    fn cognito_access_tokens_and_scopes() {
        let k = keys();
        // `client_id` stands for `aud`; `scp` for `scope`.
        let mut c = claims();
        let m = c.as_object_mut().unwrap();
        m.remove("aud");
        m.remove("scope");
        m.insert("client_id".into(), json!("api"));
        m.insert("scp".into(), json!(["orders/write"]));
        let t = k.key.sign(&c);
        assert!(matches!(
            run(&t, &["orders/read", "orders/write"]),
            Verdict::Allow { .. }
        ));
        match run(&t, &["orders/read"]) {
            Verdict::Forbidden(why) => {
                assert!(
                    why.contains("`orders/read`") && why.contains("`orders/write`"),
                    "{why}"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn settings_are_checked() {
        let cognito = AuthorizerConfig {
            kind: AuthorizerKind::Cognito,
            issuer: None,
            audience: vec![],
            user_pool_arns: vec![ARN.into()],
            identity: "Authorization".into(),
        };
        assert!(cognito.validate("users").is_ok());
        assert_eq!(
            cognito.issuer_url().as_deref(),
            Some("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf")
        );
        let bad_arn = AuthorizerConfig {
            user_pool_arns: vec!["arn:aws:cognito-idp:eu-west-1:1234:userpool/x".into()],
            ..cognito.clone()
        };
        assert!(
            bad_arn
                .validate("users")
                .unwrap_err()
                .contains("not a user pool ARN")
        );
        let no_pools = AuthorizerConfig {
            user_pool_arns: vec![],
            ..cognito.clone()
        };
        assert!(
            no_pools
                .validate("users")
                .unwrap_err()
                .contains("user_pool_arns")
        );
        assert!(cognito.validate("none").unwrap_err().contains("public"));
        let no_issuer = AuthorizerConfig {
            issuer: None,
            ..cfg()
        };
        assert!(no_issuer.validate("p").unwrap_err().contains("`issuer`"));
        let no_aud = AuthorizerConfig {
            audience: vec![],
            ..cfg()
        };
        assert!(no_aud.validate("p").unwrap_err().contains("`audience`"));
        let plain_http = AuthorizerConfig {
            issuer: Some("http://auth.example.com".into()),
            ..cfg()
        };
        assert!(plain_http.validate("p").unwrap_err().contains("https://"));
        let e = serde_json::from_value::<AuthorizerConfig>(json!({"type": "jwt", "issuerr": "x"}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("issuerr"), "{e}");
    }
}
