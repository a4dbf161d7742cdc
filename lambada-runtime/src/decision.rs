//! What an `#[authorizer]` is and what it answers, as data: its
//! [`AuthorizerSpec`] (part of its entry in the trigger table) and its
//! [`Decision`]. [`authorizer`](crate::authorizer) decodes the events and
//! turns decisions into API Gateway's answers.

use std::fmt;

use serde_json::{Map, Value};

/// How an authorizer is called: `#[authorizer(token)]` or
/// `#[authorizer(request, …)]`, with its identity sources and result TTL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthorizerSpec {
    /// `token`: API Gateway sends the value of one header (REST APIs'
    /// `TOKEN` authorizer); otherwise the whole request (`REQUEST`).
    pub token: bool,
    /// Where the caller's identity is: `header.NAME`, `query.NAME`. A
    /// request that lacks one is refused with 401 before the authorizer
    /// runs; the values are the cache key.
    pub identity: &'static [&'static str],
    /// Seconds API Gateway caches an answer (0: not cached).
    pub ttl: u32,
}

impl AuthorizerSpec {
    /// The manifest entry.
    pub(crate) fn manifest(&self) -> Value {
        serde_json::json!({
            "type": if self.token { "token" } else { "request" },
            "identity": self.identity,
            "ttl": self.ttl,
        })
    }
}

/// An authorizer's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// The caller may call the API.
    Allow {
        /// Who the caller is (`principalId`).
        principal: String,
        /// Handed to the route (`AuthContext<T>`).
        context: Map<String, Value>,
        /// The API key of the caller's usage plan (REST APIs whose API key
        /// source is `AUTHORIZER`).
        usage_key: Option<String>,
    },
    /// The caller is known and may not: 403.
    Deny {
        /// Who the caller is.
        principal: String,
    },
    /// The caller did not prove who it is: 401 (REST APIs).
    Unauthorized,
}

impl Decision {
    /// Allows `principal`.
    pub fn allow(principal: impl Into<String>) -> Decision {
        Decision::Allow {
            principal: principal.into(),
            context: Map::new(),
            usage_key: None,
        }
    }

    /// Denies `principal` (403).
    pub fn deny(principal: impl Into<String>) -> Decision {
        Decision::Deny {
            principal: principal.into(),
        }
    }

    /// Refuses a caller without valid credentials (401 on REST APIs).
    pub fn unauthorized() -> Decision {
        Decision::Unauthorized
    }

    /// Adds a context value for the route (ignored unless allowed).
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Value>) -> Decision {
        if let Decision::Allow { context, .. } = &mut self {
            context.insert(key.into(), value.into());
        }
        self
    }

    /// Sets the usage plan's API key (ignored unless allowed).
    pub fn usage_key(mut self, key: impl Into<String>) -> Decision {
        if let Decision::Allow { usage_key, .. } = &mut self {
            *usage_key = Some(key.into());
        }
        self
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Allow { principal, .. } => write!(f, "allow {principal}"),
            Decision::Deny { principal } => write!(f, "deny {principal}"),
            Decision::Unauthorized => f.write_str("unauthorized"),
        }
    }
}
