//! `#[s3]`: one call per record of an S3 event notification, the object's
//! key URL-decoded; any failure fails the invocation (S3 invokes
//! asynchronously: Lambda retries, then the on-failure destination).
//!
//! There is no `Records<S3Object>`: an asynchronous invocation has no
//! partial-batch response to report single records in, and S3 sends one
//! record per notification.

use aws_lambda_events::event;

use super::{
    Batch, OneFuture, Policy, TriggerCall, TriggerError, TriggerFuture, TriggerInput, drive,
    shape_error,
};

/// One object of an S3 event notification.
///
/// ```
/// use lambada::prelude::*;
///
/// #[s3(bucket = "uploads", events = ["s3:ObjectCreated:*"], prefix = "incoming/")]
/// async fn on_upload(obj: S3Object) -> Result<(), String> {
///     println!("{} bytes at s3://{}/{}", obj.size.unwrap_or(0), obj.bucket, obj.key);
///     Ok(())
/// }
/// # let _ = routes![on_upload];
/// ```
#[derive(Debug, Clone)]
pub struct S3Object {
    /// The bucket's name.
    pub bucket: String,
    /// The object's key, URL-decoded: S3 sends `my+report%282%29.csv` for
    /// `my report(2).csv`.
    pub key: String,
    /// The object's size in bytes (absent for removals).
    pub size: Option<i64>,
    /// What happened, as S3 names it without the `s3:` prefix:
    /// `ObjectCreated:Put`, `ObjectRemoved:Delete`, …
    pub event_name: String,
    /// The version id, on a versioned bucket.
    pub version_id: Option<String>,
    /// The object's ETag.
    pub e_tag: Option<String>,
    /// The record as S3 sent it.
    pub record: event::s3::S3EventRecord,
}

/// A key as S3 writes it in notifications (form encoding: `+` for a
/// space, `%XX` for the rest) back to the key.
pub(crate) fn decode_key(key: &str) -> Result<String, String> {
    let spaced = key.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .map(|k| k.into_owned())
        .map_err(|e| format!("the key `{key}` is not URL-encoded UTF-8: {e}"))
}

impl TriggerInput for S3Object {
    fn batch(payload: &[u8]) -> Result<Batch<Self>, TriggerError> {
        let ev: event::s3::S3Event =
            serde_json::from_slice(payload).map_err(|e| shape_error("an S3 event", e))?;
        let items = ev
            .records
            .into_iter()
            .map(|r| {
                let raw_key = r.s3.object.key.clone().unwrap_or_default();
                let object = decode_key(&raw_key).map(|key| S3Object {
                    bucket: r.s3.bucket.name.clone().unwrap_or_default(),
                    key,
                    size: r.s3.object.size,
                    event_name: r.event_name.clone().unwrap_or_default(),
                    version_id: r.s3.object.version_id.clone(),
                    e_tag: r.s3.object.e_tag.clone(),
                    record: r,
                });
                (raw_key, object)
            })
            .collect();
        Ok(Batch {
            items,
            policy: Policy::AllOrError,
            undecoded: Vec::new(),
            decoded: Vec::new(),
        })
    }
}

/// Event argument types of `#[s3]` handlers.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the event argument of an `#[s3]` handler",
    label = "not an event type for this trigger",
    note = "`#[s3]` handlers take `S3Object` (one object of the notification) as their first argument"
)]
pub trait S3Input: TriggerInput {}
impl S3Input for S3Object {}

/// [`drive`] for `#[s3]` handlers (the bound gives the error when the
/// event argument is of another kind).
#[doc(hidden)]
pub fn drive_s3<'a, T: S3Input>(
    call: &'a TriggerCall<'a>,
    one: for<'b> fn(T, &'b TriggerCall<'b>) -> OneFuture<'b>,
) -> TriggerFuture<'a> {
    drive(call, one)
}

#[cfg(test)]
mod tests {
    use super::decode_key;

    #[test]
    fn keys_are_form_decoded() {
        assert_eq!(
            decode_key("my+report%282%29.csv").unwrap(),
            "my report(2).csv"
        );
        assert_eq!(decode_key("a%2Bb").unwrap(), "a+b");
        assert_eq!(decode_key("caf%C3%A9/x").unwrap(), "café/x");
        assert!(decode_key("%FF").is_err());
    }
}
