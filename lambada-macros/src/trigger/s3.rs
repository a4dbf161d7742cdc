//! `#[s3(bucket = "…", events = ["s3:ObjectCreated:*"], prefix = "…",
//! suffix = "…")]`: the bucket's event notifications. The bucket name and
//! the event names are checked here, against S3's rules and list.

use proc_macro2::Span;

use super::{Extra, Kind, Leading, Settings};
use crate::attr::Errors;

pub(crate) static KIND: Kind = Kind {
    attr: "s3",
    variant: "S3",
    source_key: Some("bucket"),
    source_default: None,
    keys: &["events", "prefix", "suffix"],
    example: "#[s3(bucket = \"uploads\", events = [\"s3:ObjectCreated:*\"], prefix = \"incoming/\")]",
    default_event: "::lambada::trigger::S3Object",
    driver: "drive_s3",
    batch_size: None,
    stream: false,
    leading: Leading::None,
    authorizer: false,
    check,
    settings,
};

/// The event types S3 can send to a function ("Supported event types for
/// SQS, SNS, and Lambda" in the S3 user guide).
const EVENTS: &[&str] = &[
    "s3:ObjectCreated:*",
    "s3:ObjectCreated:Put",
    "s3:ObjectCreated:Post",
    "s3:ObjectCreated:Copy",
    "s3:ObjectCreated:CompleteMultipartUpload",
    "s3:ObjectRemoved:*",
    "s3:ObjectRemoved:Delete",
    "s3:ObjectRemoved:DeleteMarkerCreated",
    "s3:ObjectRestore:*",
    "s3:ObjectRestore:Post",
    "s3:ObjectRestore:Completed",
    "s3:ObjectRestore:Delete",
    "s3:ReducedRedundancyLostObject",
    "s3:Replication:*",
    "s3:Replication:OperationFailedReplication",
    "s3:Replication:OperationMissedThreshold",
    "s3:Replication:OperationReplicatedAfterThreshold",
    "s3:Replication:OperationNotTracked",
    "s3:LifecycleExpiration:*",
    "s3:LifecycleExpiration:Delete",
    "s3:LifecycleExpiration:DeleteMarkerCreated",
    "s3:LifecycleTransition",
    "s3:IntelligentTiering",
    "s3:ObjectTagging:*",
    "s3:ObjectTagging:Put",
    "s3:ObjectTagging:Delete",
    "s3:ObjectAcl:Put",
];

/// The events when `events` is left out.
const DEFAULT_EVENT: &str = "s3:ObjectCreated:*";

/// Why `name` is not a bucket name (S3's general-purpose bucket naming
/// rules), if it is not.
fn bucket_problem(name: &str) -> Option<String> {
    if name.starts_with("arn:") {
        return Some(format!(
            "`{name}`: name the bucket, not its ARN: `bucket = \"{}\"`",
            name.rsplit(':').next().unwrap_or_default()
        ));
    }
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    let ends_ok = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !(3..=63).contains(&name.len())
        || !ok_chars
        || !ends_ok(name.bytes().next())
        || !ends_ok(name.bytes().last())
        || name.contains("..")
    {
        return Some(format!(
            "`{name}` is not an S3 bucket name: 3 to 63 lowercase letters, digits, `.` and `-`, beginning and ending with a letter or digit"
        ));
    }
    None
}

fn check(s: &Settings, errors: &mut Errors) {
    if let Some(bucket) = &s.source
        && let Some(problem) = bucket_problem(bucket)
    {
        errors.spanned(s.source_span.unwrap_or_else(Span::call_site), problem);
    }
    match s.extra("events") {
        None => {}
        Some(Extra::List(list, span)) if list.is_empty() => {
            errors.spanned(
                *span,
                "`events` is empty: `events = [\"s3:ObjectCreated:*\"]`",
            );
        }
        Some(Extra::List(list, _)) => {
            for e in list {
                if !EVENTS.contains(&e.value().as_str()) {
                    errors.spanned(e.span(), unknown_event(&e.value()));
                }
            }
        }
        Some(Extra::Str(e)) if !EVENTS.contains(&e.value().as_str()) => {
            errors.spanned(e.span(), unknown_event(&e.value()));
        }
        Some(Extra::Str(_)) => {}
    }
    for key in ["prefix", "suffix"] {
        match s.extra(key) {
            None => {}
            Some(Extra::Str(v)) if v.value().is_empty() => {
                errors.spanned(
                    v.span(),
                    format!("`{key}` is empty: leave it out to match every key"),
                );
            }
            Some(Extra::Str(_)) => {}
            Some(other) => errors.spanned(
                other.span(),
                format!(
                    "`{key}` takes one string: `{key} = \"{}\"`",
                    if key == "prefix" { "incoming/" } else { ".jpg" }
                ),
            ),
        }
    }
}

fn unknown_event(name: &str) -> String {
    let hint = EVENTS
        .iter()
        .find(|e| e.eq_ignore_ascii_case(name) || e.trim_start_matches("s3:").eq_ignore_ascii_case(name))
        .map(|e| format!("; did you mean `{e}`?"))
        .unwrap_or_else(|| {
            "; S3 sends `s3:ObjectCreated:*` (or `:Put`, `:Post`, `:Copy`, `:CompleteMultipartUpload`), `s3:ObjectRemoved:*` (`:Delete`, `:DeleteMarkerCreated`), `s3:ObjectRestore:*`, `s3:ObjectTagging:*`, `s3:ObjectAcl:Put`, `s3:LifecycleExpiration:*`, `s3:LifecycleTransition`, `s3:IntelligentTiering`, `s3:Replication:*`, `s3:ReducedRedundancyLostObject`".to_owned()
        });
    format!("`{name}` is not an S3 event type{hint}")
}

fn settings(s: &Settings) -> Option<String> {
    let events: Vec<String> = match s.extra("events") {
        Some(Extra::List(list, _)) => list.iter().map(|e| e.value()).collect(),
        Some(Extra::Str(e)) => vec![e.value()],
        None => vec![DEFAULT_EVENT.to_owned()],
    };
    let text = |key| match s.extra(key) {
        Some(Extra::Str(v)) => serde_json::Value::String(v.value()),
        _ => serde_json::Value::Null,
    };
    Some(
        serde_json::json!({
            "events": events,
            "prefix": text("prefix"),
            "suffix": text("suffix"),
        })
        .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::bucket_problem;

    #[test]
    fn bucket_names() {
        for ok in ["uploads", "my.bucket-1", "abc"] {
            assert_eq!(bucket_problem(ok), None, "{ok}");
        }
        for bad in [
            "Uploads",
            "ab",
            "-x-",
            "a..b",
            "arn:aws:s3:::x",
            "under_score",
        ] {
            assert!(bucket_problem(bad).is_some(), "{bad}");
        }
    }
}
