//! The 404 of an unknown code: the article's "fail whale" page for
//! browsers, a problem document for programs.

use lambada::prelude::*;
use lambada::{HeaderValue, Html, header};

/// An unknown short code. Its response depends on what the client accepts:
/// an HTML page (`text/html`) by default, as browsers follow short links;
/// `application/problem+json` when the client prefers JSON
/// (`Accept: application/json`). Either way the response says
/// `Vary: Accept`, so a cache keeps the two apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotFound {
    code: String,
    json: bool,
}

impl NotFound {
    /// The 404 for `code`, for a client that sent this `Accept` header.
    pub fn new(code: &str, accept: Option<&str>) -> NotFound {
        NotFound {
            code: code.to_owned(),
            json: prefers_json(accept),
        }
    }

    /// Whether the answer is problem JSON rather than HTML.
    pub fn is_json(&self) -> bool {
        self.json
    }
}

/// Both forms of the 404, for the OpenAPI document.
impl lambada::openapi::Responses for NotFound {
    fn responses(_: &mut lambada::openapi::Doc, op: &mut lambada::openapi::Operation) {
        op.problem(
            404,
            "No link has this code: problem JSON for `Accept: application/json`, else an HTML page",
        );
        op.response(
            "404",
            "",
            Some((
                "text/html; charset=utf-8",
                serde_json::json!({"type": "string"}),
            )),
        );
        op.response_header("404", "Vary", serde_json::json!({"type": "string"}));
    }
}

impl IntoResponse for NotFound {
    fn into_response(self) -> Response {
        let mut res = if self.json {
            Problem::new(
                StatusCode::NOT_FOUND,
                format!("there is no link `{}`", self.code),
            )
            .into_response()
        } else {
            (StatusCode::NOT_FOUND, Html(page(&self.code))).into_response()
        };
        res.headers_mut()
            .insert(header::VARY, HeaderValue::from_static("accept"));
        res
    }
}

/// The page. The code comes from the URL, so it is escaped: `/<script>…`
/// is shown, never run.
fn page(code: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Link not found</title>
</head>
<body>
<p aria-hidden="true" style="font-size: 4em; margin: 0">&#x1F433;</p>
<h1>Sorry, we can't find what you're looking for.</h1>
<p>There is no short link <code>{}</code>. Are you sure the address is correct?</p>
</body>
</html>
"#,
        escape_html(code)
    )
}

/// Escapes text for HTML content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Whether an `Accept` header ranks a JSON type above HTML. Wildcards
/// (`*/*`, as curl sends) and a missing header mean HTML; so does a tie
/// (`application/json, text/html`).
pub fn prefers_json(accept: Option<&str>) -> bool {
    let (mut json, mut html) = (0.0_f32, 0.0_f32);
    for range in accept.unwrap_or("").split(',') {
        let mut params = range.split(';');
        let media = params.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = params
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
            .map_or(Some(1.0), |(_, v)| v.trim().parse::<f32>().ok())
            .unwrap_or(0.0);
        let is_json = media == "application/json"
            || (media.starts_with("application/") && media.ends_with("+json"));
        if is_json {
            json = json.max(q);
        } else if media == "text/html" || media == "application/xhtml+xml" {
            html = html.max(q);
        }
    }
    json > 0.0 && json > html
}
