//! The `#[authorizer]` functions of `cargo lambada serve`, run as API
//! Gateway runs them: before the route, in a bootstrap of their own (the
//! function deploy creates, `_HANDLER` = the authorizer's name), with the
//! answer cached for the authorizer's TTL by its identity sources.
//!
//! | what happens | answer |
//! |---|---|
//! | an identity source is missing | 401 `{"message":"Unauthorized"}`, the authorizer is not run |
//! | `Decision::unauthorized()` (REST: the `Unauthorized` function error) | 401 |
//! | `Decision::deny(…)`, or a policy that does not allow the method ARN; `isAuthorized: false` | 403 `{"message":"Forbidden"}` |
//! | any other function error, a crash, an answer that is not one | 500 `{"message":null}` |
//! | allowed | the route's event carries the principal and context (REST: `requestContext.authorizer.{principalId, …}`; HTTP APIs: `requestContext.authorizer.lambda`) |

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::StatusCode;
use lambada::EventKind;
use lambada::cors::CorsPolicy;
use serde_json::{Value, json};

use crate::emulator::{Pool, Reply};
use crate::manifest::AuthorizerEntry;
use crate::serve::authorize::{Decision, refuse};
use crate::serve::gateway::{self, Incoming, Router};

/// One `#[authorizer]` function, ready to run.
#[derive(Debug)]
pub struct LambdaAuthorizer {
    /// Its name (the function's name in the route table).
    pub name: String,
    /// Its kind, identity sources and TTL.
    pub spec: AuthorizerEntry,
    /// Its bootstraps.
    pub pool: Pool,
    /// Answers by identity values, until they expire.
    cache: Mutex<HashMap<String, (Instant, Value)>>,
}

impl LambdaAuthorizer {
    /// The authorizer `name`, run by `pool`.
    pub fn new(name: String, spec: AuthorizerEntry, pool: Pool) -> LambdaAuthorizer {
        LambdaAuthorizer {
            name,
            spec,
            pool,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The values of the identity sources, or the first one missing.
    fn identity(&self, req: &Incoming) -> Result<Vec<String>, String> {
        let query = req.uri.split_once('?').map(|(_, q)| q).unwrap_or_default();
        self.spec
            .identity
            .iter()
            .map(|source| {
                let value = match source.split_once('.') {
                    Some(("query", n)) => form_urlencoded::parse(query.as_bytes())
                        .find(|(k, _)| k == n)
                        .map(|(_, v)| v.into_owned()),
                    Some((_, n)) => req
                        .headers
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(n))
                        .map(|(_, v)| v.clone()),
                    None => None,
                };
                value
                    .filter(|v| !v.trim().is_empty())
                    .ok_or_else(|| format!("the request has no `{source}`"))
            })
            .collect()
    }

    /// Decides on `req` (format `kind`) as API Gateway would, running the
    /// authorizer unless its answer for these identity values is cached;
    /// the note says what happened, for serve's log.
    pub async fn decide(
        &self,
        kind: EventKind,
        stage: &str,
        router: &Router,
        req: &Incoming,
        cors: Option<&CorsPolicy>,
    ) -> (Decision, String) {
        let name = &self.name;
        let values = match self.identity(req) {
            Ok(v) => v,
            Err(why) => {
                let d = refuse(
                    StatusCode::UNAUTHORIZED,
                    format!("{name}: {why}"),
                    req,
                    cors,
                );
                return (d, String::new());
            }
        };
        let token_header = self
            .spec
            .is_token()
            .then(|| self.spec.first().1.to_ascii_lowercase());
        let event = gateway::http_event(kind, stage, router, req)
            .authorizer_event(token_header.as_deref(), &values);
        let arn = event
            .get("methodArn")
            .or_else(|| event.get("routeArn"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let key = values.join("\u{0}");
        let cached = self.cached(&key);
        let how = if cached.is_some() { "cached" } else { "ran" };
        let answer = match cached {
            Some(a) => a,
            None => match self.run(&event).await {
                Ok(a) => {
                    self.store(key, &a);
                    a
                }
                Err((status, why)) => {
                    let d = refuse(status, format!("{name}: {why}"), req, cors);
                    return (d, String::new());
                }
            },
        };
        let decision = match judge(kind, &answer, &arn) {
            Ok(authorizer) => Decision::Allow(authorizer),
            Err((status, why)) => refuse(status, format!("{name} ({how}): {why}"), req, cors),
        };
        let principal = answer
            .get("principalId")
            .and_then(Value::as_str)
            .map(|p| format!(" {p}"))
            .unwrap_or_default();
        (
            decision,
            format!("authorizer `{name}` allowed{principal} ({how})"),
        )
    }

    fn cached(&self, key: &str) -> Option<Value> {
        let mut cache = self.cache.lock().ok()?;
        match cache.get(key) {
            Some((until, v)) if *until > Instant::now() => Some(v.clone()),
            Some(_) => {
                cache.remove(key);
                None
            }
            None => None,
        }
    }

    fn store(&self, key: String, answer: &Value) {
        if self.spec.ttl == 0 {
            return;
        }
        if let Ok(mut cache) = self.cache.lock() {
            let until = Instant::now() + Duration::from_secs(u64::from(self.spec.ttl));
            cache.insert(key, (until, answer.clone()));
        }
    }

    /// Invokes the authorizer; `Err` is the gateway's status and why.
    async fn run(&self, event: &Value) -> Result<Value, (StatusCode, String)> {
        let payload = Bytes::from(serde_json::to_vec(event).unwrap_or_default());
        match self.pool.invoke(payload).await {
            Ok(Reply::Response(body)) => serde_json::from_slice(&body).map_err(|e| {
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("the answer is not JSON: {e}"),
                )
            }),
            Ok(Reply::Error(e)) => {
                let body: Value = serde_json::from_slice(&e.body).unwrap_or_default();
                let message = body
                    .get("errorMessage")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if message == "Unauthorized" {
                    Err((StatusCode::UNAUTHORIZED, "unauthorized".into()))
                } else {
                    Err((
                        StatusCode::INTERNAL_SERVER_ERROR,
                        format!("the authorizer failed ({}): {message}", e.error_type),
                    ))
                }
            }
            Ok(Reply::Stream(_)) => Err((
                StatusCode::INTERNAL_SERVER_ERROR,
                "the authorizer streamed its answer; API Gateway reads an authorizer's answer as one JSON document".into(),
            )),
            Err(fault) => Err((
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the authorizer did not answer: {fault}"),
            )),
        }
    }
}

/// The authorizer's answer applied to the request's ARN: the event's
/// `requestContext.authorizer`, or the refusal.
fn judge(kind: EventKind, answer: &Value, arn: &str) -> Result<Value, (StatusCode, String)> {
    let context = answer.get("context").cloned().unwrap_or_else(|| json!({}));
    if kind == EventKind::HttpV2 && answer.get("isAuthorized").is_some() {
        return match answer["isAuthorized"].as_bool() {
            Some(true) => Ok(json!({ "lambda": context })),
            _ => Err((StatusCode::FORBIDDEN, "not authorized".into())),
        };
    }
    let Some(statements) = answer
        .pointer("/policyDocument/Statement")
        .and_then(Value::as_array)
    else {
        return Err((
            StatusCode::INTERNAL_SERVER_ERROR,
            "the answer has no policyDocument.Statement".into(),
        ));
    };
    let covers = |s: &Value| {
        let list = |k: &str| match s.get(k) {
            Some(Value::String(one)) => vec![one.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        list("Action").iter().any(|a| glob(a, "execute-api:Invoke"))
            && list("Resource").iter().any(|r| glob(r, arn))
    };
    let effect = |s: &Value| {
        s.get("Effect")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    if statements.iter().any(|s| effect(s) == "Deny" && covers(s)) {
        return Err((StatusCode::FORBIDDEN, "the policy denies it".into()));
    }
    if !statements.iter().any(|s| effect(s) == "Allow" && covers(s)) {
        return Err((
            StatusCode::FORBIDDEN,
            format!("the policy does not allow {arn}"),
        ));
    }
    let mut authorizer = match context {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    authorizer.insert(
        "principalId".into(),
        answer.get("principalId").cloned().unwrap_or(Value::Null),
    );
    authorizer.insert("integrationLatency".into(), json!(0));
    Ok(Value::Object(authorizer))
}

/// IAM's wildcards: `*` any run of characters, `?` one.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_wildcards() {
        assert!(glob("arn:a:api/prod/*", "arn:a:api/prod/GET/x/y"));
        assert!(glob("arn:a:api/*/GET/*", "arn:a:api/prod/GET/x"));
        assert!(!glob("arn:a:api/*/GET/*", "arn:a:api/prod/POST/x"));
        assert!(glob("execute-api:*", "execute-api:Invoke"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("abc", "abcd"));
    }

    #[test]
    fn policies_are_applied_to_the_method_arn() {
        let arn = "arn:aws:execute-api:r:1:api/prod/GET/reports";
        let allow = json!({"principalId": "p", "context": {"plan": "gold"}, "policyDocument": {"Version": "2012-10-17", "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": ["arn:aws:execute-api:r:1:api/prod/*"]}]}});
        let a = judge(EventKind::RestV1, &allow, arn).unwrap();
        assert_eq!(a["principalId"], "p");
        assert_eq!(a["plan"], "gold");
        let other = judge(
            EventKind::RestV1,
            &allow,
            "arn:aws:execute-api:r:1:api/dev/GET/x",
        );
        assert_eq!(other.unwrap_err().0, StatusCode::FORBIDDEN);
        let mut deny = allow.clone();
        deny["policyDocument"]["Statement"][0]["Effect"] = json!("Deny");
        assert_eq!(
            judge(EventKind::RestV1, &deny, arn).unwrap_err().0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            judge(EventKind::RestV1, &json!({}), arn).unwrap_err().0,
            StatusCode::INTERNAL_SERVER_ERROR
        );
        let simple = json!({"isAuthorized": true, "context": {"n": 1}});
        assert_eq!(
            judge(EventKind::HttpV2, &simple, arn).unwrap(),
            json!({"lambda": {"n": 1}})
        );
        let no = json!({"isAuthorized": false});
        assert_eq!(
            judge(EventKind::HttpV2, &no, arn).unwrap_err().0,
            StatusCode::FORBIDDEN
        );
    }
}
