//! The authorizers of `cargo lambada serve`: what API Gateway does before
//! a protected route reaches the function, done locally.
//!
//! A route with `auth = "name"` names a configured JWT or Cognito
//! authorizer. With `--jwks FILE`, the bearer token in the authorizer's
//! header is verified against those keys (signature, expiry, issuer,
//! audience, scopes: [`crate::auth::verify`]); with `--claims JSON`, every
//! request to a protected route is taken to carry those claims (the scopes
//! still apply). A refusal is API Gateway's own answer, `401
//! {"message":"Unauthorized"}` or `403 {"message":"Forbidden"}`, with the
//! CORS headers of the app's settings (as the gateway responses deploy
//! configures); an allowed request reaches the function with the claims
//! where the event format puts them.

use std::collections::BTreeMap;

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use lambada::EventKind;
use lambada::cors::CorsPolicy;
use serde_json::{Value, json};

use crate::auth::{AuthorizerConfig, Jwks, Verdict};
use crate::serve::gateway::{Incoming, Router};

/// How serve authorizes requests to protected routes.
#[derive(Debug, Default)]
pub struct LocalAuth {
    /// The configured authorizers.
    pub authorizers: BTreeMap<String, AuthorizerConfig>,
    /// `--jwks`: the keys tokens are verified with.
    pub jwks: Option<Jwks>,
    /// `--claims`: the claims every protected request carries.
    pub claims: Option<serde_json::Map<String, Value>>,
}

/// What to do with a request.
#[derive(Debug)]
pub enum Decision {
    /// The route is public (or unrouted): the function decides.
    Public,
    /// Authorized: the event's `requestContext.authorizer`.
    Allow(Value),
    /// Refused by the gateway: the response, and why (for the log).
    Refuse(http::Response<Bytes>, String),
}

impl LocalAuth {
    /// Decides on `req` as API Gateway would, in the format `kind`, at
    /// `now` (seconds since the epoch).
    pub fn decide(
        &self,
        kind: EventKind,
        router: &Router,
        req: &Incoming,
        cors: Option<&CorsPolicy>,
        now: u64,
    ) -> Decision {
        if !runs_authorizers(kind) {
            // Function URLs and ALBs run no authorizer: the function itself
            // refuses protected routes (401), as it would there.
            return Decision::Public;
        }
        let path = req.uri.split_once('?').map_or(req.uri.as_str(), |(p, _)| p);
        let Some((name, scopes)) = router.protection(&req.method, path) else {
            return Decision::Public;
        };
        let Some(cfg) = self.authorizers.get(name) else {
            // Checked when the build was loaded; unreachable in practice.
            return refuse(
                StatusCode::UNAUTHORIZED,
                format!("authorizer `{name}` is not configured"),
                req,
                cors,
            );
        };
        let header = req
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(&cfg.identity))
            .map(|(_, v)| v.as_str());
        let verdict = match (&self.claims, &self.jwks) {
            (Some(claims), _) => with_scopes(claims.clone(), scopes),
            (None, Some(jwks)) => crate::auth::verify(cfg, jwks, header, scopes, now),
            (None, None) => Verdict::Unauthorized(format!(
                "authorizer `{name}`: serve has no keys to verify tokens with: give `--jwks FILE` (or `--claims JSON` to skip verification)"
            )),
        };
        match verdict {
            Verdict::Allow { claims, scopes } => Decision::Allow(shape(kind, claims, scopes)),
            Verdict::Unauthorized(why) => refuse(
                StatusCode::UNAUTHORIZED,
                format!("{name}: {why}"),
                req,
                cors,
            ),
            Verdict::Forbidden(why) => {
                refuse(StatusCode::FORBIDDEN, format!("{name}: {why}"), req, cors)
            }
        }
    }
}

/// Whether API Gateway runs authorizers for this front door (REST and HTTP
/// APIs); function URLs and ALBs do not, and the function refuses
/// protected routes itself.
pub fn runs_authorizers(kind: EventKind) -> bool {
    matches!(kind, EventKind::RestV1 | EventKind::HttpV2)
}

/// `--claims`: allowed when the route asks for no scope, or for one the
/// claims' `scope` / `scp` has.
fn with_scopes(claims: serde_json::Map<String, Value>, wanted: &[String]) -> Verdict {
    let held = lambada::auth::token_scopes(&claims);
    if wanted.is_empty() || wanted.iter().any(|w| held.contains(w)) {
        Verdict::Allow {
            claims,
            scopes: held,
        }
    } else {
        Verdict::Forbidden(format!(
            "missing scope: one of {}",
            wanted
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

/// The authorizer result as the event format carries it: REST APIs as a
/// Cognito authorizer (`claims`, every value a string), HTTP APIs as a JWT
/// authorizer (`jwt.claims`, `jwt.scopes`). Function URLs and ALBs have
/// no such authorizer (and are never authorized here).
fn shape(kind: EventKind, claims: serde_json::Map<String, Value>, scopes: Vec<String>) -> Value {
    match kind {
        EventKind::RestV1 => {
            let strings: serde_json::Map<String, Value> = claims
                .into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => Value::String(s),
                        Value::Array(a) => Value::String(
                            a.iter()
                                .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned))
                                .collect::<Vec<_>>()
                                .join(","),
                        ),
                        other => Value::String(other.to_string()),
                    };
                    (k, v)
                })
                .collect();
            json!({ "claims": strings })
        }
        EventKind::HttpV2 => json!({
            "jwt": {
                "claims": claims,
                "scopes": if scopes.is_empty() { Value::Null } else { json!(scopes) },
            }
        }),
        _ => Value::Null,
    }
}

/// API Gateway's answer to a refused request, with the CORS headers: 401
/// and 403 say so; a failed authorizer is a 500 with `{"message":null}`.
pub(super) fn refuse(
    status: StatusCode,
    why: String,
    req: &Incoming,
    cors: Option<&CorsPolicy>,
) -> Decision {
    let message = match status {
        StatusCode::FORBIDDEN => json!("Forbidden"),
        StatusCode::UNAUTHORIZED => json!("Unauthorized"),
        _ => Value::Null,
    };
    let mut res = http::Response::new(Bytes::from(json!({ "message": message }).to_string()));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if status == StatusCode::UNAUTHORIZED {
        h.insert(
            http::header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer"),
        );
    }
    if let Some(policy) = cors {
        let origin = req
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("origin"))
            .map(|(_, v)| v.as_str());
        policy.apply(origin, h);
    }
    Decision::Refuse(res, why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_take_the_formats_shape() {
        let claims = json!({"sub": "u", "exp": 5, "groups": ["a", "b"]});
        let claims = claims.as_object().unwrap().clone();
        let rest = shape(EventKind::RestV1, claims.clone(), vec![]);
        assert_eq!(
            rest,
            json!({"claims": {"sub": "u", "exp": "5", "groups": "a,b"}})
        );
        let http = shape(EventKind::HttpV2, claims.clone(), vec!["x".into()]);
        assert_eq!(http["jwt"]["claims"]["exp"], 5);
        assert_eq!(http["jwt"]["scopes"], json!(["x"]));
        assert_eq!(shape(EventKind::Alb, claims, vec![]), Value::Null);
    }

    #[test]
    fn development_claims_still_need_a_scope() {
        let claims = json!({"sub": "u", "scope": "a b"})
            .as_object()
            .unwrap()
            .clone();
        assert!(matches!(
            with_scopes(claims.clone(), &["b".into(), "z".into()]),
            Verdict::Allow { .. }
        ));
        assert!(matches!(
            with_scopes(claims.clone(), &[]),
            Verdict::Allow { .. }
        ));
        match with_scopes(claims, &["z".into()]) {
            Verdict::Forbidden(why) => assert!(why.contains("`z`"), "{why}"),
            other => panic!("{other:?}"),
        }
    }
}
