//! Verifying requests from Slack (the "v0" signing scheme).
//!
//! Slack signs every request with the app's signing secret:
//! `X-Slack-Signature: v0=` + hex(HMAC-SHA256(secret, `v0:{timestamp}:{body}`)),
//! where `timestamp` is the `X-Slack-Request-Timestamp` header and `body` the
//! raw request body, byte for byte. A request is accepted when the signature
//! matches (compared in constant time) and the timestamp is within five
//! minutes of the local clock, so a captured request cannot be replayed
//! later.
//!
//! ```
//! use slack_bot::verify::{sign, verify};
//!
//! let secret = b"8f742231b10e8888abcd99yyyzzz85a5";
//! let body = b"command=%2Flambada&text=help";
//! let signature = sign(secret, "1531420618", body);
//! assert!(verify(secret, Some("1531420618"), Some(&signature), body, 1531420618).is_ok());
//! assert!(verify(secret, Some("1531420618"), Some(&signature), b"tampered", 1531420618).is_err());
//! ```

use std::fmt;
use std::future::Future;
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use lambada::{FromRequest, FromRequestParts, IntoResponse, Problem, Request, Response, State};
use sha2::Sha256;

/// The header carrying the signature (`v0=<64 hex digits>`).
pub const SIGNATURE_HEADER: &str = "x-slack-signature";
/// The header carrying the request's Unix time in seconds.
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
/// How far the request's timestamp may be from the local clock, either way.
pub const MAX_SKEW_SECS: u64 = 5 * 60;
/// Where the signing secret comes from.
pub const SECRET_VAR: &str = "SLACK_SIGNING_SECRET";

/// The current Unix time in seconds. A plain function pointer, so tests can
/// pin the clock.
pub type Clock = fn() -> i64;

/// The system clock.
pub fn system_clock() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The bot's configuration, built once per cold start and shared by every
/// handler as `State<Config>`.
pub struct Config {
    signing_secret: Box<[u8]>,
    now: Clock,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret, not even in a debug log line.
        f.debug_struct("Config")
            .field("signing_secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl Config {
    /// A configuration with this signing secret and clock.
    pub fn new(signing_secret: impl Into<Vec<u8>>, now: Clock) -> Config {
        Config {
            signing_secret: signing_secret.into().into_boxed_slice(),
            now,
        }
    }

    /// Reads the signing secret from `SLACK_SIGNING_SECRET`; uses the system
    /// clock.
    pub fn from_env() -> Result<Config, lambada::Error> {
        match std::env::var(SECRET_VAR) {
            Ok(s) if !s.trim().is_empty() => Ok(Config::new(s.trim(), system_clock)),
            Ok(_) => Err(format!("{SECRET_VAR} is empty").into()),
            Err(_) => Err(format!(
                "{SECRET_VAR} is not set: copy the signing secret from your Slack app's \
                 \"Basic Information\" page into the function's environment"
            )
            .into()),
        }
    }

    /// The current Unix time, from the configured clock.
    pub fn now(&self) -> i64 {
        (self.now)()
    }

    /// Verifies a request against this configuration's secret and clock.
    pub fn verify(
        &self,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<(), Rejection> {
        verify(&self.signing_secret, timestamp, signature, body, self.now())
    }
}

/// Why a request was refused. Logged, never sent to the caller: the caller
/// only sees a bare 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// No `X-Slack-Request-Timestamp`.
    MissingTimestamp,
    /// No `X-Slack-Signature`.
    MissingSignature,
    /// The timestamp is not a number of seconds.
    MalformedTimestamp,
    /// The timestamp is more than five minutes away from the local clock.
    Stale,
    /// The signature is not `v0=` followed by 64 hex digits.
    MalformedSignature,
    /// The signature does not match.
    Mismatch,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rejection::MissingTimestamp => "no X-Slack-Request-Timestamp header",
            Rejection::MissingSignature => "no X-Slack-Signature header",
            Rejection::MalformedTimestamp => "the timestamp is not a number of seconds",
            Rejection::Stale => "the timestamp is more than five minutes from the local clock",
            Rejection::MalformedSignature => "the signature is not `v0=` and 64 hex digits",
            Rejection::Mismatch => "the signature does not match",
        })
    }
}

impl std::error::Error for Rejection {}

fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac
}

/// The signature Slack would send for this body at this timestamp
/// (`v0=<hex>`).
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let tag = mac(secret, timestamp, body).finalize().into_bytes();
    format!("v0={}", hex::encode(tag))
}

/// Verifies a request: both headers present, the timestamp within
/// [`MAX_SKEW_SECS`] of `now`, and the signature equal to the HMAC of
/// exactly these body bytes.
pub fn verify(
    secret: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), Rejection> {
    let timestamp = timestamp.ok_or(Rejection::MissingTimestamp)?;
    let signature = signature.ok_or(Rejection::MissingSignature)?;
    // Digits only: `str::parse` would also take `+1531420618`.
    if timestamp.is_empty()
        || timestamp.len() > 18
        || !timestamp.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(Rejection::MalformedTimestamp);
    }
    let sent: i64 = timestamp
        .parse()
        .map_err(|_| Rejection::MalformedTimestamp)?;
    if sent.abs_diff(now) > MAX_SKEW_SECS {
        return Err(Rejection::Stale);
    }
    let mut tag = [0u8; 32];
    signature
        .strip_prefix("v0=")
        .and_then(|h| hex::decode_to_slice(h, &mut tag).ok())
        .ok_or(Rejection::MalformedSignature)?;
    // `verify_slice` compares in constant time (`subtle`).
    mac(secret, timestamp, body)
        .verify_slice(&tag)
        .map_err(|_| Rejection::Mismatch)
}

/// A body extractor that only yields `T` for requests Slack signed: it
/// verifies the signature over the raw body bytes first, then hands those
/// same bytes to `T` (`Form<_>`, `Json<_>`, `&[u8]`, ...). Anything else is a
/// bare 401, with the reason logged.
///
/// It reads the [`Config`] from the route table's state.
#[derive(Debug, Clone, Copy)]
pub struct Verified<T>(pub T);

/// The 401 every refused request gets: no detail, so a caller probing the
/// endpoint learns nothing about why.
pub fn unauthorized() -> Response {
    Problem::new(lambada::StatusCode::UNAUTHORIZED, "").into_response()
}

impl<'r, T: FromRequest<'r> + Send> FromRequest<'r> for Verified<T> {
    type Rejection = Response;

    // Written out rather than `async fn`: with `async fn` the future's `Send`
    // bound is only proven where a route uses `Verified<T>`, and for a
    // generic `T` that proof hits rust-lang/rust#100013 ("lifetime bound not
    // satisfied" on the route attribute).
    #[allow(clippy::manual_async_fn, reason = "rust-lang/rust#100013")]
    fn from_request(req: &'r Request<'r>) -> impl Future<Output = Result<Self, Response>> + Send {
        async move {
            let config = match State::<Config>::from_request_parts(req).await {
                Ok(c) => c,
                Err(e) => return Err(e.into_response()),
            };
            let checked = config.verify(
                req.header(TIMESTAMP_HEADER),
                req.header(SIGNATURE_HEADER),
                req.body(),
            );
            if let Err(reason) = checked {
                tracing::warn!(%reason, path = req.path(), "refused a request not signed by Slack");
                return Err(unauthorized());
            }
            match T::from_request(req).await {
                Ok(v) => Ok(Verified(v)),
                Err(e) => Err(e.into_response()),
            }
        }
    }
}
