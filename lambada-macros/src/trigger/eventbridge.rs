//! `#[event_pattern(source = ["…"], detail_type = ["…"], bus = "…")]`: a
//! rule on an EventBridge bus (`default` unless named) whose pattern
//! matches these sources and detail types.

use proc_macro2::Span;

use super::{Extra, Kind, Leading, Settings};
use crate::attr::Errors;

pub(crate) static KIND: Kind = Kind {
    attr: "event_pattern",
    variant: "EventBridge",
    source_key: Some("bus"),
    source_default: Some("default"),
    keys: &["source", "detail_type"],
    example: "#[event_pattern(source = [\"shop.orders\"], detail_type = [\"OrderPlaced\"])]",
    default_event: "::lambada::trigger::EventBridgeEvent",
    driver: "drive_event_bridge",
    batch_size: None,
    stream: false,
    leading: Leading::None,
    authorizer: false,
    check,
    settings,
};

fn values(e: &Extra) -> Vec<&syn::LitStr> {
    match e {
        Extra::Str(s) => vec![s],
        Extra::List(l, _) => l.iter().collect(),
    }
}

fn check(s: &Settings, errors: &mut Errors) {
    if s.extra("source").is_none() {
        errors.spanned(
            Span::call_site(),
            "`#[event_pattern]` needs `source = [\"...\"]`, the senders whose events it takes: `#[event_pattern(source = [\"shop.orders\"], detail_type = [\"OrderPlaced\"])]`",
        );
    }
    for key in ["source", "detail_type"] {
        if let Some(e) = s.extra(key) {
            let vals = values(e);
            if vals.is_empty() {
                errors.spanned(
                    e.span(),
                    format!("`{key}` is empty: a pattern with `[]` matches nothing"),
                );
            }
            for v in vals {
                if v.value().trim().is_empty() {
                    errors.spanned(v.span(), format!("an empty string in `{key}`"));
                }
            }
        }
    }
    if let Some(bus) = &s.source {
        let ok = (1..=256).contains(&bus.len())
            && bus
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b));
        if !ok {
            errors.spanned(
                s.source_span.unwrap_or_else(Span::call_site),
                format!("`{bus}` is not an event bus name: letters, digits and `/._-`, up to 256 (name the bus, not its ARN)"),
            );
        }
    }
}

fn settings(s: &Settings) -> Option<String> {
    let mut pattern = serde_json::Map::new();
    for (key, field) in [("source", "source"), ("detail_type", "detail-type")] {
        if let Some(e) = s.extra(key) {
            let v: Vec<String> = values(e).into_iter().map(|l| l.value()).collect();
            pattern.insert(field.to_owned(), v.into());
        }
    }
    Some(serde_json::json!({ "pattern": pattern }).to_string())
}
