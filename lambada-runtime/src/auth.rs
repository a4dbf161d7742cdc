//! Who the caller is: what API Gateway's authorizer said, typed, and the
//! routes' `auth` / `scopes` held again inside the function.
//!
//! API Gateway runs a route's authorizer before the function and puts its
//! result in the event's request context: a JWT or Cognito authorizer's
//! claims (`requestContext.authorizer.claims` on REST APIs,
//! `requestContext.authorizer.jwt.claims` on HTTP APIs), a Lambda
//! authorizer's context (`requestContext.authorizer` on REST APIs,
//! `requestContext.authorizer.lambda` on HTTP APIs). [`Claims<T>`] and
//! [`AuthContext<T>`] read them into your types:
//!
//! ```
//! use lambada::prelude::*;
//! use lambada::auth::Claims;
//! use serde::Deserialize;
//!
//! #[derive(Deserialize)]
//! struct User {
//!     sub: String,
//!     email: Option<String>,
//! }
//!
//! #[get("/me", auth = "users")]
//! async fn me(Claims(user): Claims<User>) -> String {
//!     format!("{} <{}>", user.sub, user.email.as_deref().unwrap_or("?"))
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let client = lambada::test::Client::new(routes![me]);
//! let res = client
//!     .get("/me")
//!     .claims(serde_json::json!({"sub": "u-1", "email": "ada@example.com"}))
//!     .send()
//!     .await;
//! assert_eq!(res.text(), "u-1 <ada@example.com>");
//! // No authorizer result: the route is refused with a 401 problem.
//! assert_eq!(client.get("/me").send().await.status(), 401);
//! # });
//! ```
//!
//! A route protected by an authorizer (its own `auth = "name"`, or the
//! table's [`Routes::auth`](crate::Routes::auth)) is refused inside the
//! function too when the event carries no authorizer result (401) or, with
//! `scopes = […]`, when the token carries none of them (403): a front door
//! configured without the authorizer fails closed. ALB events never carry
//! one.

use std::future::Future;

use http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::extract::FromRequestParts;
use crate::request::{Context, EventKind, Request};
use crate::response::{IntoResponse, Problem, Response};
use crate::route::{Route, Routes};

/// The authorizer result of the event, as JSON (`None` when absent or null).
fn authorizer(ctx: &Context<'_>) -> Option<Value> {
    let v: Value = serde_json::from_str(ctx.authorizer?.get()).ok()?;
    match &v {
        Value::Null => None,
        Value::Object(m) if m.is_empty() => None,
        _ => Some(v),
    }
}

/// The JWT / Cognito claims in an authorizer result.
fn claims_in(v: &Value) -> Option<&Map<String, Value>> {
    v.pointer("/jwt/claims")
        .or_else(|| v.get("claims"))
        .and_then(Value::as_object)
}

/// The token's scopes: HTTP APIs list them in `jwt.scopes`; otherwise the
/// claims' own.
fn scopes_in(v: &Value) -> Vec<String> {
    if let Some(list) = v.pointer("/jwt/scopes").and_then(Value::as_array) {
        return list
            .iter()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect();
    }
    claims_in(v).map(token_scopes).unwrap_or_default()
}

/// The scopes a token's claims carry: `scope` (space-separated, as OAuth
/// and Cognito write it) or `scp` (a list or a string).
///
/// ```
/// let claims = serde_json::json!({"scope": "orders/read profile"});
/// let scopes = lambada::auth::token_scopes(claims.as_object().unwrap());
/// assert_eq!(scopes, ["orders/read", "profile"]);
/// ```
pub fn token_scopes(claims: &Map<String, Value>) -> Vec<String> {
    match claims.get("scope").or_else(|| claims.get("scp")) {
        Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// Refuses a request to a protected route that API Gateway did not
/// authorize: no authorizer result → 401; a token with none of the route's
/// scopes → 403.
pub(crate) fn enforce(routes: &Routes, route: &Route, ctx: &Context<'_>) -> Option<Response> {
    let name = routes.authorizer_of(route)?;
    let Some(result) = authorizer(ctx) else {
        return Some(
            Problem::new(
                StatusCode::UNAUTHORIZED,
                format!(
                    "{} {} is protected by the authorizer `{name}`, and the request carries no authorizer result",
                    route.method, route.canonical
                ),
            )
            .header(
                http::header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Bearer"),
            )
            .into_response(),
        );
    };
    if route.scopes.is_empty() || claims_in(&result).is_none() {
        return None;
    }
    let held = scopes_in(&result);
    if route.scopes.iter().any(|s| held.iter().any(|h| h == s)) {
        return None;
    }
    Some(
        Problem::new(
            StatusCode::FORBIDDEN,
            format!(
                "{} {} needs one of the scopes {}; the token has {}",
                route.method,
                route.canonical,
                list(route.scopes.iter().copied()),
                if held.is_empty() {
                    "none".to_owned()
                } else {
                    list(held.iter().map(String::as_str))
                }
            ),
        )
        .into_response(),
    )
}

fn list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why [`Claims`] or [`AuthContext`] could not be extracted: 401 when the
/// event carries no authorizer result of that kind, 403 when it does not
/// fit the type.
#[derive(Debug)]
pub struct AuthRejection(Problem);

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

fn missing(what: &str, ctx: &Context<'_>) -> AuthRejection {
    let why = match ctx.kind {
        Some(EventKind::Alb | EventKind::AlbMultiValue) => {
            " (Application Load Balancer events never carry one)"
        }
        Some(EventKind::Http) => " (the HTTP server mode has no authorizer)",
        _ => "",
    };
    AuthRejection(
        Problem::new(
            StatusCode::UNAUTHORIZED,
            format!("the request carries no {what}{why}"),
        )
        .header(
            http::header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Bearer"),
        ),
    )
}

fn unfit<T>(what: &str, e: impl std::fmt::Display) -> AuthRejection {
    AuthRejection(Problem::new(
        StatusCode::FORBIDDEN,
        format!(
            "the {what} do not fit `{}`: {e}",
            std::any::type_name::<T>()
        ),
    ))
}

/// Deserializes `v` into `T`; on failure, once more with the string values
/// that read as numbers or booleans converted (REST APIs' Cognito
/// authorizer hands every claim over as a string: `"exp": "1700000000"`).
fn from_claims<T: DeserializeOwned>(v: &Map<String, Value>) -> Result<T, serde_json::Error> {
    match T::deserialize(Value::Object(v.clone())) {
        Ok(t) => Ok(t),
        Err(_) => {
            let coerced: Map<String, Value> = v
                .iter()
                .map(|(k, x)| {
                    let x = match x {
                        Value::String(s) => match serde_json::from_str::<Value>(s) {
                            Ok(n @ (Value::Number(_) | Value::Bool(_))) => n,
                            _ => x.clone(),
                        },
                        _ => x.clone(),
                    };
                    (k.clone(), x)
                })
                .collect();
            // Its error names what is missing once the strings are read.
            T::deserialize(Value::Object(coerced))
        }
    }
}

/// The caller's JWT or Cognito claims, deserialized into `T` (use
/// `serde_json::Map<String, Value>` to take them all).
///
/// Read from `requestContext.authorizer.claims` (REST APIs, Cognito) or
/// `requestContext.authorizer.jwt.claims` (HTTP APIs, JWT). No claims: a
/// 401 problem; claims that do not fit `T`: a 403 problem. Never a 500.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims<T>(pub T);

impl<'r, T: DeserializeOwned + Send> FromRequestParts<'r> for Claims<T> {
    type Rejection = AuthRejection;
    fn from_request_parts(
        req: &'r Request<'r>,
    ) -> impl Future<Output = Result<Self, AuthRejection>> + Send {
        std::future::ready(
            typed(req, "JWT claims", "caller's claims", |r| {
                claims_in(r).cloned()
            })
            .map(Claims),
        )
    }
}

/// Deserializes the part `pick` takes out of the request's authorizer
/// result: absent → 401 (naming `what`), not fitting `T` → 403.
fn typed<T: DeserializeOwned>(
    req: &Request<'_>,
    what: &str,
    values: &str,
    pick: impl FnOnce(&Value) -> Option<Map<String, Value>>,
) -> Result<T, AuthRejection> {
    let ctx = req.context();
    let map = authorizer(ctx)
        .as_ref()
        .and_then(pick)
        .ok_or_else(|| missing(what, ctx))?;
    from_claims(&map).map_err(|e| unfit::<T>(values, e))
}

/// A Lambda authorizer's context, deserialized into `T`.
///
/// Read from `requestContext.authorizer.lambda` (HTTP APIs) or
/// `requestContext.authorizer` itself (REST APIs, which put the context
/// keys beside `principalId`). Absent: a 401 problem; not fitting `T`: a
/// 403 problem.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthContext<T>(pub T);

impl<'r, T: DeserializeOwned + Send> FromRequestParts<'r> for AuthContext<T> {
    type Rejection = AuthRejection;
    fn from_request_parts(
        req: &'r Request<'r>,
    ) -> impl Future<Output = Result<Self, AuthRejection>> + Send {
        let pick = |r: &Value| match r.get("lambda") {
            Some(Value::Object(m)) => Some(m.clone()),
            Some(_) => None,
            // A JWT or IAM result is not a Lambda authorizer's context.
            None if r.get("jwt").is_some() || r.get("iam").is_some() => None,
            None => r.as_object().cloned(),
        };
        std::future::ready(
            typed(
                req,
                "Lambda authorizer context",
                "authorizer's context values",
                pick,
            )
            .map(AuthContext),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names() {
        use crate::route::check_authorizer_name as check_name;
        assert!(check_name("users").is_ok());
        assert!(check_name("api-key_2").is_ok());
        assert!(check_name("none").unwrap_err().contains("public"));
        assert!(check_name("").is_err());
        assert!(check_name("a b").unwrap_err().contains("` `"));
        assert!(check_name("").unwrap_err().contains("empty"));
    }

    #[test]
    fn scopes_from_every_shape() {
        let v2 = json!({"jwt": {"claims": {"scope": "x"}, "scopes": ["a", "b"]}});
        assert_eq!(scopes_in(&v2), ["a", "b"]);
        let v2_null = json!({"jwt": {"claims": {"scope": "c d"}, "scopes": null}});
        assert_eq!(scopes_in(&v2_null), ["c", "d"]);
        let v1 = json!({"claims": {"scp": ["e"]}});
        assert_eq!(scopes_in(&v1), ["e"]);
        assert!(scopes_in(&json!({"principalId": "p"})).is_empty());
    }

    #[test]
    fn string_claims_are_coerced_only_when_needed() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct C {
            exp: u64,
            zip: String,
        }
        let m = json!({"exp": "1700000000", "zip": "01234"});
        let c: C = from_claims(m.as_object().unwrap()).unwrap();
        assert_eq!(
            c,
            C {
                exp: 1_700_000_000,
                zip: "01234".into()
            }
        );
        let m = json!({"exp": "soon", "zip": "x"});
        assert!(from_claims::<C>(m.as_object().unwrap()).is_err());
    }
}
