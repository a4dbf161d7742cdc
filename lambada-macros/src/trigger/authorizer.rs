//! `#[authorizer(token | request, identity = …, ttl = …)]`.

use proc_macro2::Span;

use super::{Kind, Leading, Settings, no_settings};
use crate::attr::Errors;

pub(crate) static KIND: Kind = Kind {
    attr: "authorizer",
    variant: "Authorizer",
    source_key: None,
    source_default: None,
    keys: &["identity", "ttl"],
    example: "#[authorizer(request, identity = \"header.x-api-key\", ttl = 300)]",
    default_event: "::lambada::authorizer::AuthorizerRequest",
    driver: "drive_authorizer",
    batch_size: None,
    stream: false,
    leading: Leading::AuthorizerKind,
    authorizer: true,
    check,
    settings: no_settings,
};

fn check(s: &Settings, errors: &mut Errors) {
    if s.request {
        return;
    }
    let span = s.identity_span.unwrap_or_else(Span::call_site);
    match s.identity.as_slice() {
        [] => {}
        [one] if one.starts_with("header.") => {}
        [_] => errors.spanned(
            span,
            "a token authorizer reads one header: `identity = \"header.Authorization\"` (use `#[authorizer(request, …)]` for query parameters)",
        ),
        _ => errors.spanned(
            span,
            "a token authorizer reads one header; several identity sources need `#[authorizer(request, …)]`",
        ),
    }
}
