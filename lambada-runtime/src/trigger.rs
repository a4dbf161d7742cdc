//! Handlers for events that are not HTTP requests: SNS messages, SQS
//! messages, Kinesis and DynamoDB Streams records, schedules and direct
//! invocations.
//!
//! ```
//! use lambada::prelude::*;
//! use lambada::trigger::{SnsMessage, SqsMessage};
//! use serde::Deserialize;
//!
//! #[derive(Deserialize)]
//! struct Order { id: u64 }
//!
//! #[sqs(queue = "orders", batch_size = 10)]
//! async fn on_order(msg: SqsMessage<Order>) -> Result<(), String> {
//!     if msg.body.id == 0 { return Err("order 0 does not exist".into()) }
//!     Ok(())
//! }
//!
//! #[schedule("rate(15 minutes)")]
//! async fn every_quarter_hour() {}
//!
//! // HTTP routes and triggers share one table, one binary, one zip.
//! let routes = routes![on_order, every_quarter_hour];
//! assert_eq!(routes.triggers().count(), 2);
//! ```
//!
//! # How a process knows which handler it is
//!
//! `cargo lambada deploy` gives each trigger handler a function of its own
//! (own timeout, memory and concurrency) from the same zip, and sets the
//! function's `Handler` to the handler's name, which Lambda passes to the
//! runtime as `_HANDLER`. [`run`](crate::run) sends every event of such a
//! function to that handler: no function guesses at an event's shape.
//!
//! # The event argument
//!
//! The first argument says what each invocation delivers; the others are
//! [`State<T>`](crate::State) or [`LambdaContext`], by type.
//!
//! | attribute | event argument | a failure |
//! |---|---|---|
//! | `#[sns(topic = "…")]` | [`SnsMessage<T>`], once per record | a function error: SNS invokes asynchronously, so Lambda retries (twice by default), then the function's on-failure destination or dead-letter queue |
//! | `#[sqs(queue = "…")]` | [`SqsMessage<T>`], once per message | that message in `batchItemFailures` (FIFO: it and every later one) |
//! | `#[kinesis(stream = "…")]` | [`KinesisRecord<T>`], once per record | processing stops; its sequence number in `batchItemFailures` |
//! | `#[dynamodb_stream(table = "…")]` | [`StreamRecord<T>`], once per record | as Kinesis |
//! | `#[schedule("rate(…)")]` | [`ScheduledEvent`], or [`Json<T>`](crate::Json) of the rule's constant `input` | a function error |
//! | `#[invoke]` | [`Json<T>`](crate::Json) or `serde_json::Value`: the payload | a function error; the return value is the response |
//!
//! For SQS, Kinesis and DynamoDB Streams, the event argument may also be
//! [`Records<R>`](Records) (`Records<KinesisRecord<T>>`, …): one call with
//! every record of the invocation, returning the [`Failures`] by
//! [`item_id`](BatchRecord::item_id), for handlers that work on the batch as
//! a whole (one write for many records).
//!
//! `T` is any `Deserialize` type (the message decoded as JSON), or [`Raw`]
//! for the bytes as sent. A record that does not decode fails like a
//! handler error, with the reason logged. A panic fails its record (the
//! process serves on). Handlers return `()`, `Result<(), E>`, or for
//! `#[invoke]` `Json<T>` / `Result<Json<T>, E>` (`E: Display`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use aws_lambda_events::event;
use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::decision::{AuthorizerSpec, Decision};
use crate::extract::{Json, State};
use crate::invocation::Invocation;
use crate::panic::{CatchUnwind, panic_message};
use crate::state::{StateKey, States};

pub use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent as ScheduledEvent;

/// What kind of source invokes a trigger handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TriggerKind {
    /// `#[sns]`: an SNS topic subscription.
    Sns,
    /// `#[sqs]`: an SQS event-source mapping.
    Sqs,
    /// `#[kinesis]`: a Kinesis event-source mapping.
    Kinesis,
    /// `#[dynamodb_stream]`: a DynamoDB Streams event-source mapping.
    DynamoDbStream,
    /// `#[schedule]`: an EventBridge schedule rule.
    Schedule,
    /// `#[invoke]`: direct invocation (the SDK, an IoT rule, Step Functions).
    Invoke,
    /// `#[authorizer]`: API Gateway, before a protected route.
    Authorizer,
}

impl TriggerKind {
    /// The name in the route manifest and in messages (`dynamodb_stream`).
    pub const fn as_str(self) -> &'static str {
        match self {
            TriggerKind::Sns => "sns",
            TriggerKind::Sqs => "sqs",
            TriggerKind::Kinesis => "kinesis",
            TriggerKind::DynamoDbStream => "dynamodb_stream",
            TriggerKind::Schedule => "schedule",
            TriggerKind::Invoke => "invoke",
            TriggerKind::Authorizer => "authorizer",
        }
    }
}

impl fmt::Display for TriggerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The future a generated trigger handler returns: the response payload.
pub type TriggerFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<u8>, TriggerError>> + Send + 'a>>;

/// The generated entry point of a trigger handler.
pub type TriggerFn = for<'a> fn(&'a TriggerCall<'a>) -> TriggerFuture<'a>;

/// One trigger handler of the table, built by `#[sns]` & co. as a `const`.
#[derive(Debug)]
pub struct Trigger {
    /// The kind of source.
    pub kind: TriggerKind,
    /// The handler function's name (the deployed function's `Handler`).
    pub handler: &'static str,
    /// The module the handler is defined in.
    pub module: &'static str,
    /// The event argument's type, as written.
    pub event: &'static str,
    /// Topic, queue, stream (name or ARN), table (name or stream ARN), or
    /// the schedule expression; empty for `#[invoke]`.
    pub source: &'static str,
    /// Records per invocation (SQS, Kinesis, DynamoDB Streams).
    pub batch_size: Option<u32>,
    /// Seconds to gather a batch (`MaximumBatchingWindowInSeconds`).
    pub batch_window: Option<u32>,
    /// `LATEST` or `TRIM_HORIZON` (Kinesis, DynamoDB Streams).
    pub starting_position: Option<&'static str>,
    /// The schedule's constant input, as JSON text.
    pub input: Option<&'static str>,
    /// The function timeout in seconds.
    pub timeout: Option<u32>,
    /// The function memory in MB.
    pub memory: Option<u32>,
    /// Reserved concurrency.
    pub concurrency: Option<u32>,
    /// The shared-state types the handler needs.
    pub states: &'static [StateKey],
    /// An `#[authorizer]`'s kind, identity sources and TTL.
    pub authorizer: Option<AuthorizerSpec>,
    /// The generated entry point.
    #[doc(hidden)]
    pub call: TriggerFn,
}

impl Trigger {
    /// The entry of the route manifest.
    pub(crate) fn manifest(&self) -> serde_json::Value {
        serde_json::json!({
            "kind": self.kind.as_str(),
            "handler": self.handler,
            "module": self.module,
            "event": self.event,
            "source": self.source,
            "batch_size": self.batch_size,
            "batch_window": self.batch_window,
            "starting_position": self.starting_position,
            "input": self.input.and_then(|i| serde_json::from_str::<serde_json::Value>(i).ok()),
            "timeout": self.timeout,
            "memory": self.memory,
            "concurrency": self.concurrency,
            "authorizer": self.authorizer.as_ref().map(|a| a.manifest()),
        })
    }
}

/// A failed trigger invocation: reported to Lambda as a function error
/// (`errorType`, `errorMessage`), so retries apply: Lambda's own for
/// asynchronous sources (SNS, schedules), the caller's for direct invokes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerError {
    /// `errorType`.
    pub error_type: String,
    /// `errorMessage`.
    pub message: String,
}

impl TriggerError {
    /// An error of type `error_type`.
    pub fn new(error_type: impl Into<String>, message: impl Into<String>) -> TriggerError {
        TriggerError {
            error_type: error_type.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for TriggerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TriggerError {}

/// An invocation of a trigger handler: the payload and what the Runtime API
/// said about it.
#[derive(Debug)]
pub struct TriggerCall<'a> {
    /// The event as Lambda sent it.
    pub payload: &'a [u8],
    /// Request id, deadline, function ARN, trace id.
    pub invocation: Invocation<'a>,
    pub(crate) states: &'a States,
    /// The handler being invoked.
    pub trigger: &'static Trigger,
}

/// The invocation, for trigger handlers: `ctx: LambdaContext`.
#[derive(Debug, Clone, Default)]
pub struct LambdaContext {
    /// `Lambda-Runtime-Aws-Request-Id`.
    pub request_id: String,
    /// `Lambda-Runtime-Deadline-Ms` (milliseconds since the epoch).
    pub deadline_ms: u64,
    /// `Lambda-Runtime-Invoked-Function-Arn`.
    pub invoked_function_arn: String,
    /// `Lambda-Runtime-Trace-Id`.
    pub trace_id: Option<String>,
}

/// An argument of a trigger handler after the event: [`State<T>`] or
/// [`LambdaContext`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an argument of a trigger handler",
    label = "not available to trigger handlers",
    note = "after the event argument, trigger handlers take `State<T>` or `LambdaContext`"
)]
pub trait FromInvocation: Sized {
    /// Extracts the value; an error fails the invocation.
    fn from_invocation(call: &TriggerCall<'_>) -> Result<Self, TriggerError>;
}

impl<T: Send + Sync + 'static> FromInvocation for State<T> {
    fn from_invocation(call: &TriggerCall<'_>) -> Result<Self, TriggerError> {
        call.states.get::<T>().map(State).ok_or_else(|| {
            TriggerError::new(
                "Lambada.MissingState",
                format!("state `{}` not configured", std::any::type_name::<T>()),
            )
        })
    }
}

impl FromInvocation for LambdaContext {
    fn from_invocation(call: &TriggerCall<'_>) -> Result<Self, TriggerError> {
        let i = &call.invocation;
        Ok(LambdaContext {
            request_id: i.request_id.to_owned(),
            deadline_ms: i.deadline_ms,
            invoked_function_arn: i.invoked_function_arn.to_owned(),
            trace_id: i.trace_id.map(str::to_owned),
        })
    }
}

/// A message body or record payload, as sent.
///
/// ```
/// use lambada::trigger::Raw;
/// let raw = Raw::from("plain text");
/// assert_eq!(raw.as_str(), Some("plain text"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Raw(pub Bytes);

impl Raw {
    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    /// The text, when the payload is UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }
}

impl From<&str> for Raw {
    fn from(s: &str) -> Raw {
        Raw(Bytes::copy_from_slice(s.as_bytes()))
    }
}

/// How a message body or record payload becomes the handler's `T`: JSON
/// for any `Deserialize` type, as is for [`Raw`].
pub trait Payload: Sized {
    /// Decodes the payload; the error says why it could not.
    fn decode(bytes: &[u8]) -> Result<Self, String>;
}

impl<T: DeserializeOwned> Payload for T {
    fn decode(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|e| {
            format!(
                "cannot decode it as JSON into `{}`: {e}",
                std::any::type_name::<T>()
            )
        })
    }
}

impl Payload for Raw {
    fn decode(bytes: &[u8]) -> Result<Self, String> {
        Ok(Raw(Bytes::copy_from_slice(bytes)))
    }
}

/// One SNS message (an `#[sns]` handler runs once per record).
#[derive(Debug, Clone)]
pub struct SnsMessage<T = Raw> {
    /// The message, decoded.
    pub body: T,
    /// The record as SNS sent it (message id, topic ARN, subject,
    /// timestamp, attributes).
    pub record: event::sns::SnsMessage,
}

/// One SQS message.
#[derive(Debug, Clone)]
pub struct SqsMessage<T = Raw> {
    /// The body, decoded.
    pub body: T,
    /// The message as SQS sent it (id, attributes, receipt handle, …).
    pub record: event::sqs::SqsMessage,
}

/// One Kinesis record.
#[derive(Debug, Clone)]
pub struct KinesisRecord<T = Raw> {
    /// The record's data (base64-decoded), decoded.
    pub data: T,
    /// The record as Kinesis sent it (partition key, sequence number, …).
    pub record: event::kinesis::KinesisEventRecord,
}

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

/// A record of a batch source, with the identifier `batchItemFailures`
/// names it by.
pub trait BatchRecord: TriggerInput {
    /// The message id (SQS) or sequence number (Kinesis, DynamoDB Streams).
    fn item_id(&self) -> &str;
}

impl<T: Payload + Send + 'static> BatchRecord for SqsMessage<T> {
    fn item_id(&self) -> &str {
        self.record.message_id.as_deref().unwrap_or("")
    }
}

impl<T: Payload + Send + 'static> BatchRecord for KinesisRecord<T> {
    fn item_id(&self) -> &str {
        &self.record.kinesis.sequence_number
    }
}

impl<T: DeserializeOwned + Send + 'static> BatchRecord for StreamRecord<T> {
    fn item_id(&self) -> &str {
        self.record.change.sequence_number.as_deref().unwrap_or("")
    }
}

/// Every record of an invocation at once, for handlers that work on the
/// batch as a whole (grouping records per destination, one write for
/// many): `async fn f(batch: Records<KinesisRecord<Raw>>) -> Failures`.
/// Records that do not decode are reported without reaching the handler;
/// the handler returns the [`Failures`] among the others (by
/// [`item_id`](BatchRecord::item_id)); an error fails them all.
#[derive(Debug, Clone)]
pub struct Records<R> {
    /// The records that decoded, in the order of the event.
    pub records: Vec<R>,
}

impl<R: BatchRecord> TriggerInput for Records<R> {
    fn batch(payload: &[u8]) -> Result<Batch<Self>, TriggerError> {
        let inner = R::batch(payload)?;
        let (mut records, mut decoded, mut undecoded) = (Vec::new(), Vec::new(), Vec::new());
        for (id, item) in inner.items {
            match item {
                Ok(r) => {
                    decoded.push(id);
                    records.push(r);
                }
                Err(reason) => {
                    tracing::error!(record = %id, reason, "record did not decode");
                    undecoded.push(id);
                }
            }
        }
        Ok(Batch {
            items: vec![(String::new(), Ok(Records { records }))],
            policy: Policy::Whole,
            undecoded,
            decoded,
        })
    }
}

/// How failures in a batch are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    /// One payload; the handler's output is the response.
    Single,
    /// Every record is handled; any failure fails the invocation (SNS).
    AllOrError,
    /// Every record is handled; failures are reported by id (SQS standard).
    ReportEach,
    /// Stop at the first failure and report it and every later record
    /// (ordered sources: Kinesis, DynamoDB Streams, SQS FIFO).
    StopAtFirst,
    /// One call with every record ([`Records`]); failures come from the
    /// handler ([`Failures`]) plus the records that did not decode, an
    /// error fails them all.
    Whole,
}

/// The decoded items of one invocation.
#[derive(Debug)]
pub struct Batch<T> {
    items: Vec<(String, Result<T, String>)>,
    policy: Policy,
    /// Records that did not decode (for [`Policy::Whole`]).
    undecoded: Vec<String>,
    /// The records that did (for [`Policy::Whole`]: all fail on an error).
    decoded: Vec<String>,
}

/// An event argument type: decodes the invocation's payload into the items
/// the handler is called with. Implemented by [`SnsMessage`],
/// [`SqsMessage`], [`KinesisRecord`], [`StreamRecord`], [`ScheduledEvent`],
/// [`Json<T>`](crate::Json) and `serde_json::Value`.
pub trait TriggerInput: Sized + Send + 'static {
    /// Decodes the payload. `Err` when it is not this kind of event at all.
    fn batch(payload: &[u8]) -> Result<Batch<Self>, TriggerError>;
}

fn shape_error(kind: &str, e: serde_json::Error) -> TriggerError {
    TriggerError::new(
        "Lambada.InvalidEvent",
        format!("the event is not {kind}: {e}"),
    )
}

impl<T: Payload + Send + 'static> TriggerInput for SnsMessage<T> {
    fn batch(payload: &[u8]) -> Result<Batch<Self>, TriggerError> {
        let ev: event::sns::SnsEvent =
            serde_json::from_slice(payload).map_err(|e| shape_error("an SNS event", e))?;
        let items = ev
            .records
            .into_iter()
            .map(|r| {
                let body = T::decode(r.sns.message.as_bytes());
                (
                    r.sns.message_id.clone(),
                    body.map(|body| SnsMessage {
                        body,
                        record: r.sns,
                    }),
                )
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

impl<T: Payload + Send + 'static> TriggerInput for SqsMessage<T> {
    fn batch(payload: &[u8]) -> Result<Batch<Self>, TriggerError> {
        let ev: event::sqs::SqsEvent =
            serde_json::from_slice(payload).map_err(|e| shape_error("an SQS event", e))?;
        let fifo = ev.records.iter().any(|r| {
            r.event_source_arn
                .as_deref()
                .is_some_and(|a| a.ends_with(".fifo"))
        });
        let items = ev
            .records
            .into_iter()
            .map(|r| {
                let id = r.message_id.clone().unwrap_or_default();
                let body = T::decode(r.body.as_deref().unwrap_or("").as_bytes());
                (id, body.map(|body| SqsMessage { body, record: r }))
            })
            .collect();
        Ok(Batch {
            items,
            policy: if fifo {
                Policy::StopAtFirst
            } else {
                Policy::ReportEach
            },
            undecoded: Vec::new(),
            decoded: Vec::new(),
        })
    }
}

impl<T: Payload + Send + 'static> TriggerInput for KinesisRecord<T> {
    fn batch(payload: &[u8]) -> Result<Batch<Self>, TriggerError> {
        let ev: event::kinesis::KinesisEvent =
            serde_json::from_slice(payload).map_err(|e| shape_error("a Kinesis event", e))?;
        let items = ev
            .records
            .into_iter()
            .map(|r| {
                let id = r.kinesis.sequence_number.clone();
                let data = T::decode(&r.kinesis.data.0);
                (id, data.map(|data| KinesisRecord { data, record: r }))
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

impl TriggerInput for ScheduledEvent {
    fn batch(payload: &[u8]) -> Result<Batch<Self>, TriggerError> {
        let ev: ScheduledEvent = serde_json::from_slice(payload)
            .map_err(|e| shape_error("an EventBridge scheduled event", e))?;
        Ok(Batch {
            items: vec![(ev.id.clone().unwrap_or_default(), Ok(ev))],
            policy: Policy::Single,
            undecoded: Vec::new(),
            decoded: Vec::new(),
        })
    }
}

impl<T: DeserializeOwned + Send + 'static> TriggerInput for Json<T> {
    fn batch(payload: &[u8]) -> Result<Batch<Self>, TriggerError> {
        let value = serde_json::from_slice(payload).map(Json).map_err(|e| {
            TriggerError::new(
                "Lambada.InvalidPayload",
                format!(
                    "cannot decode the payload into `{}`: {e}",
                    std::any::type_name::<T>()
                ),
            )
        })?;
        Ok(Batch {
            items: vec![(String::new(), Ok(value))],
            policy: Policy::Single,
            undecoded: Vec::new(),
            decoded: Vec::new(),
        })
    }
}

impl TriggerInput for serde_json::Value {
    fn batch(payload: &[u8]) -> Result<Batch<Self>, TriggerError> {
        let value = serde_json::from_slice(payload).map_err(|e| {
            TriggerError::new(
                "Lambada.InvalidPayload",
                format!("the payload is not JSON: {e}"),
            )
        })?;
        Ok(Batch {
            items: vec![(String::new(), Ok(value))],
            policy: Policy::Single,
            undecoded: Vec::new(),
            decoded: Vec::new(),
        })
    }
}

/// Event argument types of `#[sns]` handlers.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the event argument of an `#[sns]` handler",
    label = "not an event type for this trigger",
    note = "`#[sns]` handlers take `SnsMessage<T>` (`T: Deserialize`, or `Raw`) as their first argument"
)]
pub trait SnsInput: TriggerInput {}
impl<T: Payload + Send + 'static> SnsInput for SnsMessage<T> {}

/// Event argument types of `#[sqs]` handlers.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the event argument of an `#[sqs]` handler",
    label = "not an event type for this trigger",
    note = "`#[sqs]` handlers take `SqsMessage<T>` (`T: Deserialize`, or `Raw`), or `Records<SqsMessage<T>>` for the whole batch, as their first argument"
)]
pub trait SqsInput: TriggerInput {}
impl<T: Payload + Send + 'static> SqsInput for SqsMessage<T> {}
impl<T: Payload + Send + 'static> SqsInput for Records<SqsMessage<T>> {}

/// Event argument types of `#[kinesis]` handlers.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the event argument of a `#[kinesis]` handler",
    label = "not an event type for this trigger",
    note = "`#[kinesis]` handlers take `KinesisRecord<T>` (`T: Deserialize`, or `Raw`), or `Records<KinesisRecord<T>>` for the whole batch, as their first argument"
)]
pub trait KinesisInput: TriggerInput {}
impl<T: Payload + Send + 'static> KinesisInput for KinesisRecord<T> {}
impl<T: Payload + Send + 'static> KinesisInput for Records<KinesisRecord<T>> {}

/// Event argument types of `#[dynamodb_stream]` handlers.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the event argument of a `#[dynamodb_stream]` handler",
    label = "not an event type for this trigger",
    note = "`#[dynamodb_stream]` handlers take `StreamRecord<T>` (`T: Deserialize`, default `serde_json::Value`) as their first argument"
)]
pub trait DynamoDbStreamInput: TriggerInput {}
impl<T: DeserializeOwned + Send + 'static> DynamoDbStreamInput for StreamRecord<T> {}
impl<T: DeserializeOwned + Send + 'static> DynamoDbStreamInput for Records<StreamRecord<T>> {}

/// Event argument types of `#[schedule]` handlers.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the event argument of a `#[schedule]` handler",
    label = "not an event type for this trigger",
    note = "`#[schedule]` handlers take `ScheduledEvent`, or `Json<T>` / `serde_json::Value` for the rule's constant `input`"
)]
pub trait ScheduleInput: TriggerInput {}
impl ScheduleInput for ScheduledEvent {}
impl<T: DeserializeOwned + Send + 'static> ScheduleInput for Json<T> {}
impl ScheduleInput for serde_json::Value {}

/// Event argument types of `#[invoke]` handlers.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the event argument of an `#[invoke]` handler",
    label = "not an event type for this trigger",
    note = "`#[invoke]` handlers take `Json<T>` or `serde_json::Value`: the invocation payload"
)]
pub trait InvokeInput: TriggerInput {}
impl<T: DeserializeOwned + Send + 'static> InvokeInput for Json<T> {}
impl InvokeInput for serde_json::Value {}

/// What a handler call produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Nothing beyond success.
    None,
    /// A response value (`#[invoke]`).
    Value(serde_json::Value),
    /// The records of a [`Records`] batch that failed, by item identifier.
    Failures(Vec<String>),
    /// An `#[authorizer]`'s answer.
    Decision(Decision),
}

/// The records of a [`Records`] batch that failed, by their
/// [`item_id`](SqsMessage::item_id): they go to `batchItemFailures` (with
/// any record that did not decode), the others count as processed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Failures(pub Vec<String>);

/// What a trigger handler returns: `()`, `Json<T>`, `serde_json::Value`,
/// [`Failures`] (for [`Records`] handlers), or a `Result` of one with an
/// error that implements `Display`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a trigger handler",
    label = "not a trigger handler result",
    note = "trigger handlers return `()`, `Json<T>`, `serde_json::Value`, `Failures` (`#[authorizer]`s a `Decision`), or `Result<_, E>` of one where `E: Display`"
)]
pub trait TriggerOutput {
    /// What the call produced.
    fn into_output(self) -> Result<Output, TriggerError>;
}

impl TriggerOutput for () {
    fn into_output(self) -> Result<Output, TriggerError> {
        Ok(Output::None)
    }
}

impl TriggerOutput for Failures {
    fn into_output(self) -> Result<Output, TriggerError> {
        Ok(Output::Failures(self.0))
    }
}

impl TriggerOutput for serde_json::Value {
    fn into_output(self) -> Result<Output, TriggerError> {
        Ok(Output::Value(self))
    }
}

impl<T: Serialize> TriggerOutput for Json<T> {
    fn into_output(self) -> Result<Output, TriggerError> {
        serde_json::to_value(&self.0)
            .map(Output::Value)
            .map_err(|e| {
                TriggerError::new(
                    "Lambada.InvalidResponse",
                    format!("cannot serialize the response: {e}"),
                )
            })
    }
}

impl<T: TriggerOutput, E: fmt::Display> TriggerOutput for Result<T, E> {
    fn into_output(self) -> Result<Output, TriggerError> {
        match self {
            Ok(v) => v.into_output(),
            Err(e) => {
                let ty = std::any::type_name::<E>();
                let short = ty.rsplit("::").next().unwrap_or(ty);
                Err(TriggerError::new(short, e.to_string()))
            }
        }
    }
}

/// The future of one handler call in a batch.
pub type OneFuture<'a> = Pin<Box<dyn Future<Output = Result<Output, TriggerError>> + Send + 'a>>;

/// Runs a trigger handler over every item of an invocation and builds the
/// response: `batchItemFailures` for SQS, Kinesis and DynamoDB Streams, the
/// handler's output for `#[invoke]`, `null` otherwise.
#[doc(hidden)]
pub fn drive<'a, T: TriggerInput>(
    call: &'a TriggerCall<'a>,
    one: for<'b> fn(T, &'b TriggerCall<'b>) -> OneFuture<'b>,
) -> TriggerFuture<'a> {
    Box::pin(async move {
        let batch = T::batch(call.payload)?;
        let whole_ids = batch.decoded.clone();
        let trigger = call.trigger;
        let request_id = call.invocation.request_id;
        let mut failures: Vec<String> = Vec::new();
        let mut errors: Vec<String> = Vec::new();
        let mut output = None;
        let mut stopped = false;
        for (id, item) in batch.items {
            if stopped {
                failures.push(id);
                continue;
            }
            let result = match item {
                Ok(value) => match (CatchUnwind {
                    fut: one(value, call),
                })
                .await
                {
                    Ok(r) => r,
                    Err(panic) => Err(TriggerError::new(
                        "Lambada.Panic",
                        format!("the handler panicked: {}", panic_message(&panic)),
                    )),
                },
                Err(reason) => Err(TriggerError::new(
                    "Lambada.InvalidRecord",
                    format!("record `{id}`: {reason}"),
                )),
            };
            match result {
                Ok(Output::Failures(ids)) => failures.extend(ids),
                Ok(Output::Value(v)) => output = Some(v),
                Ok(Output::Decision(d)) => {
                    output = Some(serde_json::Value::String(d.to_string()));
                }
                Ok(Output::None) => {}
                Err(e) => {
                    tracing::error!(
                        handler = trigger.handler,
                        request_id,
                        record = %id,
                        error_type = %e.error_type,
                        error = %e.message,
                        "record failed"
                    );
                    match batch.policy {
                        Policy::Single => return Err(e),
                        Policy::AllOrError => errors.push(if id.is_empty() {
                            e.message
                        } else {
                            format!("{id}: {}", e.message)
                        }),
                        Policy::ReportEach => failures.push(id),
                        Policy::StopAtFirst => {
                            failures.push(id);
                            stopped = true;
                        }
                        Policy::Whole => failures.extend(whole_ids.iter().cloned()),
                    }
                }
            }
        }
        let body = match batch.policy {
            Policy::Single => output.unwrap_or(serde_json::Value::Null),
            Policy::AllOrError if !errors.is_empty() => {
                return Err(TriggerError::new(
                    "Lambada.HandlerFailed",
                    format!(
                        "{} of the records failed: {}",
                        errors.len(),
                        errors.join("; ")
                    ),
                ));
            }
            Policy::AllOrError => serde_json::Value::Null,
            Policy::ReportEach | Policy::StopAtFirst => batch_response(&failures),
            Policy::Whole => {
                let mut all = batch.undecoded;
                for f in failures {
                    if !all.contains(&f) {
                        all.push(f);
                    }
                }
                batch_response(&all)
            }
        };
        Ok(serde_json::to_vec(&body).unwrap_or_else(|_| b"null".to_vec()))
    })
}

/// [`drive`] for `#[sns]` handlers (the bound gives the error when the
/// event argument is of another kind).
#[doc(hidden)]
pub fn drive_sns<'a, T: SnsInput>(
    call: &'a TriggerCall<'a>,
    one: for<'b> fn(T, &'b TriggerCall<'b>) -> OneFuture<'b>,
) -> TriggerFuture<'a> {
    drive(call, one)
}

/// [`drive`] for `#[sqs]` handlers (the bound gives the error when the
/// event argument is of another kind).
#[doc(hidden)]
pub fn drive_sqs<'a, T: SqsInput>(
    call: &'a TriggerCall<'a>,
    one: for<'b> fn(T, &'b TriggerCall<'b>) -> OneFuture<'b>,
) -> TriggerFuture<'a> {
    drive(call, one)
}

/// [`drive`] for `#[kinesis]` handlers (the bound gives the error when the
/// event argument is of another kind).
#[doc(hidden)]
pub fn drive_kinesis<'a, T: KinesisInput>(
    call: &'a TriggerCall<'a>,
    one: for<'b> fn(T, &'b TriggerCall<'b>) -> OneFuture<'b>,
) -> TriggerFuture<'a> {
    drive(call, one)
}

/// [`drive`] for `#[dynamodb_stream]` handlers (the bound gives the error when the
/// event argument is of another kind).
#[doc(hidden)]
pub fn drive_dynamodb_stream<'a, T: DynamoDbStreamInput>(
    call: &'a TriggerCall<'a>,
    one: for<'b> fn(T, &'b TriggerCall<'b>) -> OneFuture<'b>,
) -> TriggerFuture<'a> {
    drive(call, one)
}

/// [`drive`] for `#[schedule]` handlers (the bound gives the error when the
/// event argument is of another kind).
#[doc(hidden)]
pub fn drive_schedule<'a, T: ScheduleInput>(
    call: &'a TriggerCall<'a>,
    one: for<'b> fn(T, &'b TriggerCall<'b>) -> OneFuture<'b>,
) -> TriggerFuture<'a> {
    drive(call, one)
}

/// [`drive`] for `#[invoke]` handlers (the bound gives the error when the
/// event argument is of another kind).
#[doc(hidden)]
pub fn drive_invoke<'a, T: InvokeInput>(
    call: &'a TriggerCall<'a>,
    one: for<'b> fn(T, &'b TriggerCall<'b>) -> OneFuture<'b>,
) -> TriggerFuture<'a> {
    drive(call, one)
}

fn batch_response(failures: &[String]) -> serde_json::Value {
    let items: Vec<_> = failures
        .iter()
        .map(|id| serde_json::json!({ "itemIdentifier": id }))
        .collect();
    serde_json::json!({ "batchItemFailures": items })
}

/// Runs the trigger handler named by the function's `Handler` setting.
pub(crate) async fn handle(
    trigger: &'static Trigger,
    states: &States,
    payload: &[u8],
    invocation: &Invocation<'_>,
) -> Result<Vec<u8>, TriggerError> {
    let call = TriggerCall {
        payload,
        invocation: *invocation,
        states,
        trigger,
    };
    (trigger.call)(&call).await
}

/// The trigger emitted in place of one whose attribute had errors.
#[doc(hidden)]
pub const fn stub_trigger(handler: &'static str) -> Trigger {
    fn never<'a>(_: &'a TriggerCall<'a>) -> TriggerFuture<'a> {
        Box::pin(async { unreachable!("stub triggers are never compiled into a binary") })
    }
    Trigger {
        kind: TriggerKind::Invoke,
        handler,
        module: "",
        event: "",
        source: "",
        batch_size: None,
        batch_window: None,
        starting_position: None,
        input: None,
        timeout: None,
        memory: None,
        concurrency: None,
        states: &[],
        authorizer: None,
        call: never,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn attribute_values_become_plain_json() {
        let item = json!({
            "s": {"S": "text"},
            "n": {"N": "42"},
            "f": {"N": "1.5"},
            "big": {"N": "123456789012345678901234567890"},
            "b": {"B": "AAEqQQ=="},
            "t": {"BOOL": true},
            "z": {"NULL": true},
            "ss": {"SS": ["a", "b"]},
            "ns": {"NS": ["1", "2"]},
            "l": {"L": [{"S": "x"}, {"N": "3"}]},
            "m": {"M": {"inner": {"S": "y"}}}
        });
        assert_eq!(
            plain_item(&item),
            json!({
                "s": "text", "n": 42, "f": 1.5,
                "big": "123456789012345678901234567890",
                "b": "AAEqQQ==", "t": true, "z": null,
                "ss": ["a", "b"], "ns": [1, 2],
                "l": ["x", 3], "m": {"inner": "y"}
            })
        );
    }

    #[test]
    fn raw_payloads_keep_their_bytes() {
        assert_eq!(Raw::decode(b"not json").unwrap().as_str(), Some("not json"));
        assert!(<u32 as Payload>::decode(b"not json").is_err());
        assert_eq!(<u32 as Payload>::decode(b"7"), Ok(7));
    }
}
