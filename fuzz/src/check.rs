//! Checks of a response payload: JSON in exactly the shape of the event's
//! kind, a valid status, valid headers, a body that decodes.

use base64::Engine as _;
use lambada::EventKind;
use lambada::test::TestResponse;
use serde_json::Value;

/// The kind of an event, by the documented rules (`requestContext.elb`:
/// ALB, multi-value when `multiValueHeaders` is there; `version: "2.0"`
/// and `requestContext.http`: HTTP API, or function URL on a
/// `.lambda-url.` domain; `httpMethod` and `resource`: REST), written apart
/// from the runtime's decoder. `None`: not an HTTP event.
pub fn classify(event: &Value) -> Option<EventKind> {
    let present = |v: Option<&Value>| v.is_some_and(|v| !v.is_null());
    let ctx = event.get("requestContext").filter(|c| !c.is_null());
    if present(ctx.and_then(|c| c.get("elb"))) {
        return Some(if present(event.get("multiValueHeaders")) {
            EventKind::AlbMultiValue
        } else {
            EventKind::Alb
        });
    }
    let v2 = event.get("version").and_then(Value::as_str) == Some("2.0");
    if v2 && present(ctx.and_then(|c| c.get("http"))) {
        let url = ctx
            .and_then(|c| c.get("domainName"))
            .and_then(Value::as_str)
            .is_some_and(|d| d.contains(".lambda-url."));
        return Some(if url {
            EventKind::FunctionUrl
        } else {
            EventKind::HttpV2
        });
    }
    if present(event.get("httpMethod")) && present(event.get("resource")) {
        return Some(EventKind::RestV1);
    }
    None
}

fn is_header_name(k: &str) -> bool {
    !k.is_empty()
        && k.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b"!#$%&'*+-.^_`|~".contains(&b)
        })
}

/// Visible ASCII, space, tab, and `obs-text` (bytes from 0x80 up: the
/// UTF-8 of a value that is not ASCII).
fn is_header_value(v: &str) -> bool {
    http::HeaderValue::from_str(v).is_ok()
}

/// Checks `payload` is a response in the shape of `kind` (any HTTP kind
/// when `None`), and decodes it. Panics, with the payload, when it is not.
pub fn response(kind: Option<EventKind>, payload: &[u8]) -> TestResponse {
    match try_response(kind, payload) {
        Ok(r) => r,
        Err(why) => panic!(
            "malformed {kind:?} response: {why}\npayload: {}",
            String::from_utf8_lossy(payload)
        ),
    }
}

fn try_response(kind: Option<EventKind>, payload: &[u8]) -> Result<TestResponse, String> {
    let v: Value = serde_json::from_slice(payload).map_err(|e| format!("not JSON: {e}"))?;
    let m = v.as_object().ok_or("not an object")?;
    let status = m
        .get("statusCode")
        .and_then(Value::as_u64)
        .ok_or("no integer statusCode")?;
    if !(100..600).contains(&status) {
        return Err(format!("statusCode {status}"));
    }
    let body = m
        .get("body")
        .and_then(Value::as_str)
        .ok_or("no string body")?;
    let b64 = m
        .get("isBase64Encoded")
        .and_then(Value::as_bool)
        .ok_or("no boolean isBase64Encoded")?;
    if b64 {
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|e| format!("isBase64Encoded but the body is not base64: {e}"))?;
    }
    let multi = m.get("multiValueHeaders");
    let single = m.get("headers");
    let shape = match (multi, single) {
        (Some(h), None) => {
            let h = h.as_object().ok_or("multiValueHeaders is no object")?;
            for (k, vs) in h {
                if !is_header_name(k) {
                    return Err(format!("header name `{k}`"));
                }
                let vs = vs
                    .as_array()
                    .ok_or("a multiValueHeaders entry is no list")?;
                if vs.is_empty() {
                    return Err(format!("header `{k}` has no value"));
                }
                for x in vs {
                    let x = x.as_str().ok_or("a header value is no string")?;
                    if !is_header_value(x) {
                        return Err(format!("header `{k}`: value {x:?}"));
                    }
                }
            }
            if m.contains_key("statusDescription") {
                "alb-multi"
            } else {
                "rest"
            }
        }
        (None, Some(h)) => {
            let h = h.as_object().ok_or("headers is no object")?;
            for (k, x) in h {
                if !is_header_name(k) {
                    return Err(format!("header name `{k}`"));
                }
                let x = x.as_str().ok_or("a header value is no string")?;
                if !is_header_value(x) {
                    return Err(format!("header `{k}`: value {x:?}"));
                }
            }
            if m.contains_key("statusDescription") {
                "alb"
            } else {
                if h.contains_key("set-cookie") {
                    return Err("set-cookie in a payload 2.0 response's headers".into());
                }
                "v2"
            }
        }
        _ => return Err("not exactly one of headers and multiValueHeaders".into()),
    };
    if let Some(c) = m.get("cookies") {
        if shape != "v2" {
            return Err("cookies in a response that is not payload 2.0".into());
        }
        for x in c.as_array().ok_or("cookies is no list")? {
            let x = x.as_str().ok_or("a cookie is no string")?;
            if !is_header_value(x) {
                return Err(format!("cookie {x:?}"));
            }
        }
    }
    if let Some(d) = m.get("statusDescription") {
        let d = d.as_str().ok_or("statusDescription is no string")?;
        let code = http::StatusCode::from_u16(status as u16).map_err(|e| e.to_string())?;
        let want = format!("{} {}", status, code.canonical_reason().unwrap_or(""));
        if d != want.trim_end() {
            return Err(format!("statusDescription `{d}` for {status}"));
        }
    }
    let allowed: &[&str] = match shape {
        "rest" => &["statusCode", "multiValueHeaders", "body", "isBase64Encoded"],
        "alb-multi" => &[
            "statusCode",
            "multiValueHeaders",
            "statusDescription",
            "body",
            "isBase64Encoded",
        ],
        "alb" => &[
            "statusCode",
            "headers",
            "statusDescription",
            "body",
            "isBase64Encoded",
        ],
        _ => &[
            "statusCode",
            "headers",
            "cookies",
            "body",
            "isBase64Encoded",
        ],
    };
    if let Some(k) = m.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(format!("unexpected key `{k}`"));
    }
    if let Some(kind) = kind {
        let want = match kind {
            EventKind::RestV1 | EventKind::Http => "rest",
            EventKind::HttpV2 | EventKind::FunctionUrl => "v2",
            EventKind::Alb => "alb",
            EventKind::AlbMultiValue => "alb-multi",
        };
        if shape != want {
            return Err(format!("a {shape} response to a {kind:?} event"));
        }
    }
    TestResponse::try_decode(payload).map_err(|e| e.to_string())
}

/// JSON equality, with numbers that are not integers compared to within
/// a relative 1e-15: serde_json's default float parsing is not exactly
/// round-trip (its `float_roundtrip` feature is off), so a value parsed,
/// written and parsed again may differ in the last bit.
pub fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            x == y || (x - y).abs() <= 1e-15 * x.abs().max(y.abs())
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}
