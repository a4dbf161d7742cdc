//! An API for partners behind API keys.
//!
//! `api_key` is a Lambda authorizer: API Gateway calls it with the
//! `x-api-key` header before any route it protects, caches its answer per
//! key for five minutes, and refuses the request (401 for an unknown key,
//! 403 for a suspended one) or hands the partner to the route. Deploy
//! gives it a function of its own from the same zip; `cargo lambada serve`
//! runs it before each protected request exactly so.

use lambada::prelude::*;
use serde::{Deserialize, Serialize};

/// The partner a key belongs to (`PARTNER_KEYS="key=partner,…"`, a
/// suspended partner written `!name`).
fn partner_of(key: &str) -> Option<String> {
    partner_in(&std::env::var("PARTNER_KEYS").unwrap_or_default(), key)
}

fn partner_in(keys: &str, key: &str) -> Option<String> {
    keys.split(',')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, p)| p.to_owned())
}

/// Checks the caller's API key.
#[authorizer(request, identity = "header.x-api-key", ttl = 300)]
pub async fn api_key(req: AuthorizerRequest) -> Decision {
    match req.identity().and_then(partner_of) {
        Some(p) if p.starts_with('!') => Decision::deny(&p[1..]),
        Some(p) => Decision::allow(&p).with("partner", p),
        None => Decision::unauthorized(),
    }
}

/// What the authorizer says about the caller.
#[derive(Debug, Deserialize)]
pub struct Partner {
    /// The partner the key belongs to.
    pub partner: String,
}

/// A partner's report.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Report {
    /// Whose.
    pub partner: String,
    /// What period.
    pub period: String,
}

/// `GET /reports/<period>` with `x-api-key: <key>`: `auth = api_key` names
/// the authorizer function, so a typo is a compile error.
#[get("/reports/<period>", auth = api_key)]
pub async fn report(period: &str, AuthContext(p): AuthContext<Partner>) -> Json<Report> {
    Json(Report {
        partner: p.partner,
        period: period.to_owned(),
    })
}

/// Public: no key needed.
#[get("/health")]
pub async fn health() -> &'static str {
    "ok"
}

/// The route table: the routes and the authorizer they name.
pub fn app() -> Routes {
    routes![report, health, api_key]
}

#[lambada::main]
async fn main() -> Result<(), lambada::Error> {
    lambada::run(app()).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambada::test::{Client, events};
    use serde_json::json;

    fn ask(key: &str) -> serde_json::Value {
        events::request_authorizer("GET", "/reports/2026-11", &[("x-api-key", key)])
    }

    #[tokio::test]
    async fn the_authorizer_knows_the_keys() {
        // Without PARTNER_KEYS (as in this test) no key is known.
        let authorizer = Client::new(app()).trigger("api_key");
        let err = authorizer.send(&ask("demo-key")).await.unwrap_err();
        assert_eq!(err.message, "Unauthorized");
        assert_eq!(partner_of("demo-key"), None);
    }

    #[test]
    fn keys_are_key_equals_partner() {
        let keys = "a=acme, b=!globex,bad";
        assert_eq!(partner_in(keys, "a").as_deref(), Some("acme"));
        assert_eq!(partner_in(keys, "b").as_deref(), Some("!globex"));
        assert_eq!(partner_in(keys, "bad"), None);
        assert_eq!(partner_in(keys, "c"), None);
    }

    #[tokio::test]
    async fn reports_come_with_the_authorizers_partner() {
        let client = Client::new(app());
        let res = client
            .get("/reports/2026-11")
            .authorizer_context(json!({"principalId": "demo", "partner": "demo"}))
            .send()
            .await;
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.json::<Report>(),
            Report {
                partner: "demo".into(),
                period: "2026-11".into()
            }
        );
        // Without the authorizer's context, refused inside the function too.
        assert_eq!(client.get("/reports/2026-11").send().await.status(), 401);
        assert_eq!(client.get("/health").send().await.text(), "ok");
    }
}
