//! `#[sqs(queue = "…", batch_size = …, batch_window = …)]`.

use proc_macro2::Span;

use super::{Kind, Leading, Settings, no_settings};
use crate::attr::Errors;

pub(crate) static KIND: Kind = Kind {
    attr: "sqs",
    variant: "Sqs",
    source_key: Some("queue"),
    source_default: None,
    keys: &["batch_size", "batch_window"],
    example: "#[sqs(queue = \"orders\", batch_size = 10)]",
    default_event: "::lambada::trigger::SqsMessage",
    driver: "drive_sqs",
    batch_size: Some(10),
    stream: false,
    leading: Leading::None,
    authorizer: false,
    check,
    settings: no_settings,
};

fn check(s: &Settings, errors: &mut Errors) {
    if let (Some(b), Some(source)) = (s.batch_size, &s.source)
        && source.ends_with(".fifo")
        && b > 10
    {
        errors.spanned(
            s.batch_size_span.unwrap_or_else(Span::call_site),
            "FIFO queues take at most 10 messages per batch: `batch_size = 10`",
        );
    }
    if s.batch_size.is_some_and(|b| b > 10) && s.batch_window.is_none() {
        errors.spanned(
            s.batch_size_span.unwrap_or_else(Span::call_site),
            "SQS batches over 10 messages need a batching window: add `batch_window = 1` (seconds) or more",
        );
    }
}
