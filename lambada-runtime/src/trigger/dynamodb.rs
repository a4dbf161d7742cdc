//! `#[dynamodb_stream]`: one call per record, images converted from
//! DynamoDB's attribute-value JSON into plain values; failures as Kinesis.

use aws_lambda_events::event;
use serde::de::DeserializeOwned;

use super::{
    Batch, BatchRecord, OneFuture, Policy, Records, TriggerCall, TriggerError, TriggerFuture,
    TriggerInput, drive, shape_error,
};

/// What happened to a DynamoDB item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// `INSERT`.
    Insert,
    /// `MODIFY`.
    Modify,
    /// `REMOVE`.
    Remove,
}

/// One DynamoDB Streams record, its images converted from DynamoDB's
/// attribute-value JSON (`{"S": "x"}`) into plain values of `T`.
#[derive(Debug, Clone)]
pub struct StreamRecord<T = serde_json::Value> {
    /// Insert, modify or remove.
    pub change: Change,
    /// The item's key attributes, as plain JSON.
    pub keys: serde_json::Value,
    /// The item before the change (streams with `OLD_IMAGE` or
    /// `NEW_AND_OLD_IMAGES`, and not for inserts).
    pub old: Option<T>,
    /// The item after the change (streams with `NEW_IMAGE` or
    /// `NEW_AND_OLD_IMAGES`, and not for removals).
    pub new: Option<T>,
    /// The record as the stream sent it.
    pub record: event::dynamodb::EventRecord,
}

impl<T: DeserializeOwned + Send + 'static> BatchRecord for StreamRecord<T> {
    fn item_id(&self) -> &str {
        self.record.change.sequence_number.as_deref().unwrap_or("")
    }
}

/// An image (or the keys) as `T`: through `serde_dynamo` first (so binary
/// attributes can fill `Vec<u8>` fields), else through plain JSON (binary
/// as base64 text), which any `Deserialize` type, `serde_json::Value`
/// included, can take.
fn image<T: DeserializeOwned>(item: &serde_dynamo::Item) -> Result<Option<T>, String> {
    if item.is_empty() {
        return Ok(None);
    }
    if let Ok(v) = serde_dynamo::from_item(item.clone()) {
        return Ok(Some(v));
    }
    let json = serde_json::to_value(item).map_err(|e| e.to_string())?;
    serde_json::from_value(plain_item(&json))
        .map(Some)
        .map_err(|e| {
            format!(
                "cannot convert the image into `{}`: {e}",
                std::any::type_name::<T>()
            )
        })
}

/// `{"name": {"S": "x"}, ...}` → `{"name": "x", ...}`.
pub fn plain_item(item: &serde_json::Value) -> serde_json::Value {
    match item {
        serde_json::Value::Object(m) => m
            .iter()
            .map(|(k, v)| (k.clone(), plain_value(v)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        other => other.clone(),
    }
}

/// One DynamoDB attribute value (`{"N": "1"}`, `{"L": [...]}`, …) as plain
/// JSON: numbers as numbers (text when JSON cannot hold them exactly),
/// binary as base64 text, sets as arrays.
pub fn plain_value(av: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    let Some((tag, v)) = av.as_object().and_then(|m| m.iter().next()) else {
        return av.clone();
    };
    let number = |n: &Value| -> Value {
        let text = n.as_str().unwrap_or_default();
        serde_json::from_str::<serde_json::Number>(text)
            .ok()
            .filter(|num| num.to_string() == text)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(text.to_owned()))
    };
    match tag.as_str() {
        "S" | "B" | "BOOL" => v.clone(),
        "NULL" => Value::Null,
        "N" => number(v),
        "SS" | "BS" => v.clone(),
        "NS" => Value::Array(v.as_array().into_iter().flatten().map(number).collect()),
        "L" => Value::Array(
            v.as_array()
                .into_iter()
                .flatten()
                .map(plain_value)
                .collect(),
        ),
        "M" => plain_item(v),
        _ => av.clone(),
    }
}

impl<T: DeserializeOwned + Send + 'static> TriggerInput for StreamRecord<T> {
    fn batch(payload: &[u8]) -> Result<Batch<Self>, TriggerError> {
        let ev: event::dynamodb::Event = serde_json::from_slice(payload)
            .map_err(|e| shape_error("a DynamoDB Streams event", e))?;
        let items = ev
            .records
            .into_iter()
            .map(|r| {
                let id = r.change.sequence_number.clone().unwrap_or_default();
                let converted = (|| {
                    let change = match r.event_name.as_str() {
                        "INSERT" => Change::Insert,
                        "MODIFY" => Change::Modify,
                        "REMOVE" => Change::Remove,
                        other => return Err(format!("unknown eventName `{other}`")),
                    };
                    let keys = image::<serde_json::Value>(&r.change.keys)?.unwrap_or_default();
                    Ok((
                        change,
                        keys,
                        image(&r.change.old_image)?,
                        image(&r.change.new_image)?,
                    ))
                })();
                let converted = converted.map(|(change, keys, old, new)| StreamRecord {
                    change,
                    keys,
                    old,
                    new,
                    record: r,
                });
                (id, converted)
            })
            .collect();
        Ok(Batch {
            items,
            policy: Policy::StopAtFirst,
            undecoded: Vec::new(),
            decoded: Vec::new(),
        })
    }
}

/// Event argument types of `#[dynamodb_stream]` handlers.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the event argument of a `#[dynamodb_stream]` handler",
    label = "not an event type for this trigger",
    note = "`#[dynamodb_stream]` handlers take `StreamRecord<T>` (`T: Deserialize`, default `serde_json::Value`) as their first argument"
)]
pub trait DynamoDbStreamInput: TriggerInput {}
impl<T: DeserializeOwned + Send + 'static> DynamoDbStreamInput for StreamRecord<T> {}
impl<T: DeserializeOwned + Send + 'static> DynamoDbStreamInput for Records<StreamRecord<T>> {}

/// [`drive`] for `#[dynamodb_stream]` handlers (the bound gives the error when the
/// event argument is of another kind).
#[doc(hidden)]
pub fn drive_dynamodb_stream<'a, T: DynamoDbStreamInput>(
    call: &'a TriggerCall<'a>,
    one: for<'b> fn(T, &'b TriggerCall<'b>) -> OneFuture<'b>,
) -> TriggerFuture<'a> {
    drive(call, one)
}
