//! Lambda authorizers written in the app: `#[authorizer]`.
//!
//! API Gateway calls an authorizer before a protected route with what
//! identifies the caller (a token, headers, query parameters), caches its
//! answer for the authorizer's TTL, and refuses the request or hands the
//! answer's context to the route ([`AuthContext<T>`](crate::auth::AuthContext)).
//! `cargo lambada deploy` gives each `#[authorizer]` a function of its own
//! from the same zip (its `Handler` is the authorizer's name, like the
//! trigger handlers), wires it as the API's authorizer, and lets API
//! Gateway invoke it.
//!
//! ```
//! use lambada::prelude::*;
//! use lambada::authorizer::{AuthorizerRequest, Decision};
//! use serde::Deserialize;
//!
//! // API keys in the `x-api-key` header; answers are cached for 5 minutes.
//! #[authorizer(request, identity = "header.x-api-key", ttl = 300)]
//! async fn api_key(req: AuthorizerRequest) -> Decision {
//!     match req.identity() {
//!         Some("k-123") => Decision::allow("client-7").with("plan", "gold"),
//!         Some(_) => Decision::deny("unknown"),
//!         None => Decision::unauthorized(),
//!     }
//! }
//!
//! #[derive(Deserialize)]
//! struct Caller { plan: String }
//!
//! // `auth = api_key` names the function: a typo is a compile error.
//! #[get("/reports", auth = api_key)]
//! async fn reports(AuthContext(c): AuthContext<Caller>) -> String {
//!     format!("reports for the {} plan", c.plan)
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let routes = routes![reports, api_key];
//! let authorizer = lambada::test::Client::new(routes.clone()).trigger("api_key");
//! let event = lambada::test::events::request_authorizer("GET", "/reports", &[("x-api-key", "k-123")]);
//! let answer = authorizer.send(&event).await.unwrap();
//! assert_eq!(answer["principalId"], "client-7");
//! assert_eq!(answer["policyDocument"]["Statement"][0]["Effect"], "Allow");
//! assert_eq!(answer["context"]["plan"], "gold");
//! # });
//! ```
//!
//! # The answer, in the shape API Gateway asked for
//!
//! | event | [`Decision::allow`] | [`Decision::deny`] | [`Decision::unauthorized`] |
//! |---|---|---|---|
//! | REST API `TOKEN` / `REQUEST`, HTTP API payload 1.0 | an IAM policy allowing `execute-api:Invoke` on the whole stage (`…/stage/*`: a cached answer is reused for every route it protects), the principal and the context | the same policy with `Deny` (API Gateway answers 403) | the function error `Unauthorized` (401) |
//! | HTTP API payload 2.0 | `{"isAuthorized": true, "context": …}` | `{"isAuthorized": false}` (403) | `{"isAuthorized": false}` (403: HTTP APIs answer 401 only for a missing identity) |
//!
//! REST APIs take context values that are strings, numbers or booleans:
//! other values are sent as their JSON text. An `Err` from the authorizer,
//! a panic or an event that is not an authorizer's is a function error,
//! which API Gateway answers with 500.

use aws_lambda_events::event::apigw::{
    ApiGatewayCustomAuthorizerPolicy, ApiGatewayCustomAuthorizerRequest,
    ApiGatewayCustomAuthorizerRequestTypeRequest, ApiGatewayCustomAuthorizerResponse,
    ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request,
};
use aws_lambda_events::event::iam::{IamPolicyEffect, IamPolicyStatement};
use serde_json::{Map, Value};

pub use crate::decision::{AuthorizerSpec, Decision};
use crate::panic::{CatchUnwind, panic_message};
use crate::trigger::{OneFuture, Output, TriggerCall, TriggerError, TriggerFuture, TriggerOutput};

/// Implemented by the type `#[authorizer]` generates next to the function,
/// so `auth = name` on a route is checked by the compiler.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an `#[authorizer]` function",
    label = "`auth = …` without quotes names an `#[authorizer]` function",
    note = "a configured (Cognito / JWT) authorizer is named as a string: `auth = \"users\"`"
)]
pub trait AuthorizerDef {
    /// The authorizer's name: its function's name.
    const NAME: &'static str;
}

/// The event API Gateway sends an authorizer, decoded with the
/// `aws_lambda_events` types.
#[derive(Debug, Clone)]
pub enum AuthorizerEvent {
    /// A REST API `TOKEN` authorizer's event.
    Token(ApiGatewayCustomAuthorizerRequest),
    /// A REST API `REQUEST` authorizer's (or an HTTP API's with payload
    /// format 1.0).
    Request(Box<ApiGatewayCustomAuthorizerRequestTypeRequest>),
    /// An HTTP API authorizer's, payload format 2.0.
    Http(Box<ApiGatewayV2CustomAuthorizerV2Request>),
}

/// What an authorizer is asked about: the caller's identity and the
/// request it wants to make.
#[derive(Debug, Clone)]
pub struct AuthorizerRequest {
    event: AuthorizerEvent,
    identity: &'static [&'static str],
}

fn header<'a>(h: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

impl AuthorizerRequest {
    /// Decodes an authorizer event; `identity` are the authorizer's
    /// identity sources (`header.NAME`, `query.NAME`).
    pub fn from_slice(
        payload: &[u8],
        identity: &'static [&'static str],
    ) -> Result<AuthorizerRequest, String> {
        let v: Value =
            serde_json::from_slice(payload).map_err(|e| format!("the event is not JSON: {e}"))?;
        let kind = v.get("type").and_then(Value::as_str).unwrap_or_default();
        let version = v.get("version").and_then(Value::as_str);
        let event = match (kind.to_ascii_uppercase().as_str(), version) {
            ("REQUEST", Some("2.0")) => AuthorizerEvent::Http(Box::new(
                serde_json::from_value(v)
                    .map_err(|e| format!("not an HTTP API authorizer event: {e}"))?,
            )),
            ("REQUEST", _) => AuthorizerEvent::Request(Box::new(
                serde_json::from_value(v)
                    .map_err(|e| format!("not a REQUEST authorizer event: {e}"))?,
            )),
            ("TOKEN", _) => AuthorizerEvent::Token(
                serde_json::from_value(v)
                    .map_err(|e| format!("not a TOKEN authorizer event: {e}"))?,
            ),
            _ => {
                return Err(
                    "not an authorizer event: `type` is neither \"TOKEN\" nor \"REQUEST\"".into(),
                );
            }
        };
        Ok(AuthorizerRequest { event, identity })
    }

    /// The event as API Gateway sent it.
    pub fn event(&self) -> &AuthorizerEvent {
        &self.event
    }

    /// The caller's identity: a `TOKEN` event's token, otherwise the value
    /// of the authorizer's first identity source that the request has.
    pub fn identity(&self) -> Option<&str> {
        if let AuthorizerEvent::Token(t) = &self.event {
            return t.authorization_token.as_deref();
        }
        self.identity.iter().find_map(|source| {
            let (place, name) = source.split_once('.')?;
            match place {
                "header" => self.header(name),
                "query" => self.query(name),
                _ => None,
            }
        })
    }

    /// The identity without a `Bearer ` prefix, for token schemes.
    pub fn bearer(&self) -> Option<&str> {
        let id = self.identity()?;
        Some(match id.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
            _ => id,
        })
    }

    /// A request header (not sent to `TOKEN` authorizers).
    pub fn header(&self, name: &str) -> Option<&str> {
        match &self.event {
            AuthorizerEvent::Token(_) => None,
            AuthorizerEvent::Request(r) => header(&r.headers, name),
            AuthorizerEvent::Http(r) => header(&r.headers, name),
        }
    }

    /// A query parameter (not sent to `TOKEN` authorizers).
    pub fn query(&self, name: &str) -> Option<&str> {
        match &self.event {
            AuthorizerEvent::Token(_) => None,
            AuthorizerEvent::Request(r) => r.query_string_parameters.first(name),
            AuthorizerEvent::Http(r) => r.query_string_parameters.get(name).map(String::as_str),
        }
    }

    /// The ARN of what the caller asks for: `methodArn` (REST) or
    /// `routeArn` (HTTP APIs), `arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/PATH`.
    pub fn method_arn(&self) -> Option<&str> {
        match &self.event {
            AuthorizerEvent::Token(t) => t.method_arn.as_deref(),
            AuthorizerEvent::Request(r) => r.method_arn.as_deref(),
            AuthorizerEvent::Http(r) => r.route_arn.as_deref(),
        }
    }
}

impl Decision {
    /// The answer to `req`, in the shape its event asked for; `Err` is the
    /// function error to report.
    pub fn answer(self, req: &AuthorizerRequest) -> Result<Value, TriggerError> {
        if let AuthorizerEvent::Http(_) = req.event {
            let mut simple = ApiGatewayV2CustomAuthorizerSimpleResponse::<Value>::default();
            simple.context = Value::Object(Map::new());
            if let Decision::Allow { context, .. } = self {
                simple.is_authorized = true;
                simple.context = Value::Object(context);
            }
            return to_value(&simple);
        }
        let (effect, principal, context, usage_key) = match self {
            Decision::Unauthorized => {
                return Err(TriggerError::new("Unauthorized", "Unauthorized"));
            }
            Decision::Deny { principal } => (IamPolicyEffect::Deny, principal, Map::new(), None),
            Decision::Allow {
                principal,
                context,
                usage_key,
            } => (IamPolicyEffect::Allow, principal, context, usage_key),
        };
        let arn = req.method_arn().ok_or_else(|| {
            TriggerError::new(
                "Lambada.InvalidEvent",
                "the authorizer event has no methodArn",
            )
        })?;
        let mut statement = IamPolicyStatement::default();
        statement.action = vec!["execute-api:Invoke".into()];
        statement.effect = effect;
        statement.resource = vec![stage_wildcard(arn)];
        let mut policy = ApiGatewayCustomAuthorizerPolicy::default();
        policy.version = Some("2012-10-17".into());
        policy.statement = vec![statement];
        let mut res = ApiGatewayCustomAuthorizerResponse::<Value>::default();
        res.principal_id = Some(principal);
        res.policy_document = policy;
        res.context = Value::Object(flat(context));
        res.usage_identifier_key = usage_key;
        to_value(&res)
    }
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value, TriggerError> {
    serde_json::to_value(v).map_err(|e| {
        TriggerError::new(
            "Lambada.InvalidResponse",
            format!("cannot serialize the authorizer's answer: {e}"),
        )
    })
}

/// `arn:…:API/STAGE/METHOD/PATH` → `arn:…:API/STAGE/*`: the answer covers
/// every route of the stage, so a cached answer is right for all of them.
///
/// The resource is what follows the ARN's fifth `:` (`arn`, partition,
/// service, region, account): a path may hold `:` too (`/items:batchGet`).
pub fn stage_wildcard(method_arn: &str) -> String {
    let mut fields = method_arn.splitn(6, ':');
    let prefix_len: usize = fields.by_ref().take(5).map(|f| f.len() + 1).sum();
    let Some(resource) = fields.next() else {
        return method_arn.to_owned();
    };
    let mut parts = resource.splitn(3, '/');
    match (parts.next(), parts.next()) {
        (Some(api), Some(stage)) => format!("{}{api}/{stage}/*", &method_arn[..prefix_len]),
        _ => method_arn.to_owned(),
    }
}

/// REST APIs' context values: strings, numbers and booleans; anything else
/// as its JSON text.
fn flat(context: Map<String, Value>) -> Map<String, Value> {
    context
        .into_iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| {
            let v = match v {
                Value::String(_) | Value::Number(_) | Value::Bool(_) => v,
                other => Value::String(other.to_string()),
            };
            (k, v)
        })
        .collect()
}

impl TriggerOutput for Decision {
    fn into_output(self) -> Result<Output, TriggerError> {
        Ok(Output::Decision(self))
    }
}

/// The event argument of an `#[authorizer]` function.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an authorizer's event argument",
    label = "not an event type for an authorizer",
    note = "`#[authorizer]` functions take `AuthorizerRequest` (its `event()` is the `aws_lambda_events` type)"
)]
pub trait AuthorizerInput: Sized + Send + 'static {
    /// Decodes the payload.
    fn decode(payload: &[u8], spec: &AuthorizerSpec) -> Result<(Self, AuthorizerRequest), String>;
}

impl AuthorizerInput for AuthorizerRequest {
    fn decode(payload: &[u8], spec: &AuthorizerSpec) -> Result<(Self, AuthorizerRequest), String> {
        let req = AuthorizerRequest::from_slice(payload, spec.identity)?;
        Ok((req.clone(), req))
    }
}

const NO_SPEC: AuthorizerSpec = AuthorizerSpec {
    token: true,
    identity: &["header.Authorization"],
    ttl: 0,
};

/// Runs an `#[authorizer]` function on one event and answers it.
#[doc(hidden)]
pub fn drive_authorizer<'a, T: AuthorizerInput>(
    call: &'a TriggerCall<'a>,
    one: for<'b> fn(T, &'b TriggerCall<'b>) -> OneFuture<'b>,
) -> TriggerFuture<'a> {
    Box::pin(async move {
        let spec = call.trigger.authorizer.as_ref().unwrap_or(&NO_SPEC);
        let (arg, req) = T::decode(call.payload, spec)
            .map_err(|e| TriggerError::new("Lambada.InvalidEvent", e))?;
        let out = match (CatchUnwind {
            fut: one(arg, call),
        })
        .await
        {
            Ok(r) => r?,
            Err(panic) => {
                return Err(TriggerError::new(
                    "Lambada.Panic",
                    format!("the authorizer panicked: {}", panic_message(&panic)),
                ));
            }
        };
        let answer = match out {
            Output::Decision(d) => {
                tracing::debug!(authorizer = call.trigger.handler, decision = %d, "authorized");
                d.answer(&req)?
            }
            Output::Value(v) => v,
            Output::None | Output::Failures(_) => {
                return Err(TriggerError::new(
                    "Lambada.InvalidResponse",
                    "the authorizer returned no decision",
                ));
            }
        };
        Ok(serde_json::to_vec(&answer).unwrap_or_else(|_| b"null".to_vec()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_whole_stage_is_allowed() {
        assert_eq!(
            stage_wildcard("arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/users/7"),
            "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*"
        );
        assert_eq!(stage_wildcard("garbage"), "garbage");
    }

    #[test]
    fn a_colon_in_the_path_is_no_field_of_the_arn() {
        // Found by the trigger_records fuzz target: a `:` in the request
        // path (which routes may have: `/items:batchGet`) was taken for the
        // ARN's last field separator, and the policy covered that one
        // method ARN instead of the stage.
        assert_eq!(
            stage_wildcard(
                "arn:aws:execute-api:us-east-1:123456789012:wt6mne2s9k/prod/POST/v1/items:batchGet"
            ),
            "arn:aws:execute-api:us-east-1:123456789012:wt6mne2s9k/prod/*"
        );
        assert_eq!(
            stage_wildcard("arn:aws:execute-api:us-east-1:123456789012:abc/$default/GET/a:b/c:d"),
            "arn:aws:execute-api:us-east-1:123456789012:abc/$default/*"
        );
        assert_eq!(stage_wildcard("arn:aws:x:y"), "arn:aws:x:y");
    }

    #[test]
    fn rest_context_values_are_scalars() {
        let ctx = json!({"a": "x", "n": 3, "b": true, "o": {"k": 1}, "l": [1], "z": null});
        let flat = flat(ctx.as_object().unwrap().clone());
        assert_eq!(
            Value::Object(flat),
            json!({"a": "x", "n": 3, "b": true, "o": "{\"k\":1}", "l": "[1]"})
        );
    }

    #[test]
    fn each_event_shape_gets_its_answer() {
        let token = AuthorizerRequest::from_slice(
            br#"{"type":"TOKEN","authorizationToken":"Bearer abc","methodArn":"arn:aws:execute-api:r:1:api/s/GET/x"}"#,
            &["header.Authorization"],
        )
        .unwrap();
        assert_eq!(token.identity(), Some("Bearer abc"));
        assert_eq!(token.bearer(), Some("abc"));
        let a = Decision::allow("p").with("k", "v").answer(&token).unwrap();
        assert_eq!(a["principalId"], "p");
        assert_eq!(
            a["policyDocument"]["Statement"][0]["Resource"][0],
            "arn:aws:execute-api:r:1:api/s/*"
        );
        let d = Decision::deny("p").answer(&token).unwrap();
        assert_eq!(d["policyDocument"]["Statement"][0]["Effect"], "Deny");
        let u = Decision::unauthorized().answer(&token).unwrap_err();
        assert_eq!(u.message, "Unauthorized");

        let http = AuthorizerRequest::from_slice(
            br#"{"version":"2.0","type":"REQUEST","routeArn":"arn:aws:execute-api:r:1:api/$default/GET/x","identitySource":["k"],"headers":{"x-api-key":"k"},"queryStringParameters":{"q":"1"},"requestContext":{"http":{"method":"GET","path":"/x","protocol":"HTTP/1.1","sourceIp":"192.0.2.1","userAgent":"t"}}}"#,
            &["header.x-api-key"],
        )
        .unwrap();
        assert_eq!(http.identity(), Some("k"));
        assert_eq!(http.query("q"), Some("1"));
        let a = Decision::allow("p").with("n", 1).answer(&http).unwrap();
        assert_eq!(a, json!({"isAuthorized": true, "context": {"n": 1}}));
        let d = Decision::unauthorized().answer(&http).unwrap();
        assert_eq!(d["isAuthorized"], false);

        let err = AuthorizerRequest::from_slice(br#"{"type":"OTHER"}"#, &[]).unwrap_err();
        assert!(err.contains("TOKEN"), "{err}");
        assert!(AuthorizerRequest::from_slice(b"[", &[]).is_err());
    }
}
