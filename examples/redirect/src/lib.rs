//! A link service on API Gateway + Lambda + DynamoDB, where a redirect is
//! just a return value.
//!
//! | route | answer |
//! |---|---|
//! | `POST /links` `{"url": "…", "code": "…", "permanent": false}` | 201 with the link (`code` and `permanent` optional); 400 for a bad URL or code; 409 when the code is taken |
//! | `GET /<code>` | 302 `Found` to the link's URL; 301 when the link was created permanent or with `?permanent=true` |
//! | `GET /moved/<rest..>` | 308 to `MOVED_TO` + the rest of the path, query kept |
//! | unknown code | 404: an HTML page, or problem JSON for `Accept: application/json` |
//!
//! Run locally with `cargo run -p example-redirect` against DynamoDB Local
//! or moto (`AWS_ENDPOINT_URL`); deploy with `cargo lambada deploy`; see the
//! README.

use lambada::openapi::{Doc, Operation, Responses};
use lambada::prelude::*;
use lambada::{HeaderValue, header};
use schemars::JsonSchema;
use serde::Deserialize;

pub mod code;
pub mod links;
pub mod not_found;
pub mod settings;

pub use links::{Link, Links, Put, StoreError};
pub use not_found::NotFound;
pub use settings::Settings;

/// What a client posts to `POST /links`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLink {
    /// The target: an absolute `http` or `https` URL.
    #[schemars(url, length(max = 2048))]
    pub url: String,
    /// The short code wanted; a random one when absent.
    #[serde(default)]
    #[schemars(regex(pattern = code::PATTERN))]
    pub code: Option<String>,
    /// Whether the link answers with 301 (cached by browsers) rather than 302.
    #[serde(default)]
    pub permanent: bool,
}

/// Why `POST /links` created nothing. Each variant is a status; the
/// response is a problem document (`application/problem+json`), and a 500
/// is logged with its cause but answered without it.
#[derive(Debug, HttpError)]
pub enum CreateError {
    /// Not an absolute http(s) URL with a host.
    #[status(BAD_REQUEST)]
    InvalidUrl(String),
    /// A custom code outside the allowed characters, length or words.
    #[status(BAD_REQUEST)]
    InvalidCode(code::InvalidCode),
    /// Another link has this code.
    #[status(CONFLICT)]
    Taken(String),
    /// DynamoDB failed.
    #[status(INTERNAL_SERVER_ERROR)]
    Store(StoreError),
}

impl std::fmt::Display for CreateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CreateError::InvalidUrl(why) => write!(f, "invalid url: {why}"),
            CreateError::InvalidCode(why) => write!(f, "invalid code: {why}"),
            CreateError::Taken(code) => write!(f, "the code `{code}` is taken"),
            CreateError::Store(e) => e.fmt(f),
        }
    }
}

impl From<StoreError> for CreateError {
    fn from(e: StoreError) -> Self {
        CreateError::Store(e)
    }
}

impl From<code::InvalidCode> for CreateError {
    fn from(e: code::InvalidCode) -> Self {
        CreateError::InvalidCode(e)
    }
}

/// Checks a link target: an absolute `http` or `https` URL with a host,
/// returned normalized (`HTTPS://Example.COM` → `https://example.com/`).
pub fn target_url(raw: &str) -> Result<url::Url, CreateError> {
    let bad = |why: String| Err(CreateError::InvalidUrl(why));
    if raw.len() > 2048 {
        return bad("longer than 2048 bytes".into());
    }
    let url = match url::Url::parse(raw) {
        Ok(url) => url,
        Err(e) => return bad(format!("`{raw}` is not an absolute URL: {e}")),
    };
    if !matches!(url.scheme(), "http" | "https") {
        return bad(format!("`{raw}` is not an http or https URL"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return bad(format!("`{raw}` has no host"));
    }
    Ok(url)
}

/// `POST /links`: stores a link under a new code, with a conditional write
/// (the code must not exist yet), so two clients racing for one code get
/// one 201 and one 409, never two links.
///
/// The `Location` of the 201 is the bare code: a reference relative to
/// `/links`, so it resolves to the short link wherever the API is mounted
/// (`/prod/abc1234` on an `execute-api` URL, `/abc1234` on a custom domain).
///
/// Only editors write: the route is protected by the Cognito authorizer
/// `editors` (Cargo.toml) and needs the `links/write` scope; behind a
/// function URL or an ALB, which run no authorizer, it answers 401.
#[post("/links", auth = "editors", scopes = ["links/write"])]
pub async fn create(
    links: State<Links>,
    Json(new): Json<NewLink>,
) -> Result<(StatusCode, HeaderMap, Json<Link>), CreateError> {
    let url = target_url(&new.url)?;
    let link = match new.code {
        Some(code) => {
            let link = Link::new(code::custom(code)?, url.into(), new.permanent);
            match links.put_new(&link).await? {
                Put::Created => link,
                Put::CodeTaken => return Err(CreateError::Taken(link.code)),
            }
        }
        None => links.put_generated(url.into(), new.permanent).await?,
    };
    let mut headers = HeaderMap::new();
    // Codes are ASCII letters, digits, `-` and `_`: always a valid header value.
    if let Ok(location) = HeaderValue::from_str(&link.code) {
        headers.insert(header::LOCATION, location);
    }
    Ok((StatusCode::CREATED, headers, Json(link)))
}

/// Why `GET /<code>` does not redirect.
#[derive(Debug)]
pub enum FollowError {
    /// No such link: a 404 page for people, problem JSON for programs.
    NotFound(NotFound),
    /// DynamoDB failed: a 500, logged.
    Store(StoreError),
}

impl Responses for FollowError {
    fn responses(doc: &mut Doc, op: &mut Operation) {
        NotFound::responses(doc, op);
        op.problem(500, "DynamoDB failed (the cause is logged)");
    }
}

impl IntoResponse for FollowError {
    fn into_response(self) -> Response {
        match self {
            FollowError::NotFound(page) => page.into_response(),
            FollowError::Store(e) => e.into_response(),
        }
    }
}

/// `GET /<code>`: 302 to the link's URL, 301 when the link is permanent or
/// the caller asks `?permanent=true`. The article this example answers had
/// to throw an error whose *name* was the URL and map it back with a regex;
/// here the redirect is the return value. Browsers follow it by navigating,
/// which needs no CORS, and no page's script has any business reading it:
/// `cors = false` keeps the table's settings (the editor's page) off it.
#[get("/<code>?<permanent>", cors = false)]
pub async fn follow(
    code: &str,
    permanent: Option<bool>,
    #[header] accept: Option<&str>,
    links: State<Links>,
) -> Result<Redirect, FollowError> {
    let not_found = || FollowError::NotFound(NotFound::new(code, accept));
    // A code we could never have issued is not worth a DynamoDB read.
    if !code::well_formed(code) {
        return Err(not_found());
    }
    match links.get(code).await.map_err(FollowError::Store)? {
        Some(link) if link.permanent || permanent == Some(true) => {
            Ok(Redirect::moved_permanently(&link.url))
        }
        Some(link) => Ok(Redirect::found(&link.url)),
        None => Err(not_found()),
    }
}

/// `GET /moved/<rest..>`: the section moved to `MOVED_TO`; 308 there with
/// the rest of the path and the query string, each re-encoded. No CORS,
/// like `follow`.
#[get("/moved/<rest..>", cors = false)]
pub async fn moved(rest: &str, req: &Request<'_>, settings: State<Settings>) -> Redirect {
    Redirect::permanent(settings.moved_url(rest, req.query_pairs()).as_str())
}

/// The route table, without its state: what `cargo lambada routes` reads.
pub fn routes() -> Routes {
    routes![create, follow, moved]
}

/// The route table with its state: the DynamoDB store and the settings.
pub fn app(links: Links, settings: Settings) -> Routes {
    routes().with_state(links).with_state(settings)
}

#[cfg(test)]
mod tests;
