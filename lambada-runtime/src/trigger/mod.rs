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
//! | `#[s3(bucket = "…")]` | [`S3Object`], once per record (the key URL-decoded) | a function error: S3 invokes asynchronously, so Lambda retries (twice by default), then the on-failure destination |
//! | `#[event_pattern(source = […])]` | [`EventBridgeEvent<T>`], `T` the `detail` | a function error, retried by Lambda as for S3 |
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
//!
//! # One file per kind
//!
//! Each kind of source is one module here (`sns.rs`, `s3.rs`, …): its
//! event types, how an invocation's payload splits into records and how
//! their failures are reported ([`TriggerInput`], [`Batch`]), and the
//! bound that names the event types its attribute accepts (`SnsInput`,
//! …). Adding a kind is adding its module and one line to the
//! [`TriggerKind`] list below (and the same in `lambada-macros` and
//! `cargo-lambada`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::decision::{AuthorizerSpec, Decision};
use crate::extract::{Json, State};
use crate::invocation::Invocation;
use crate::panic::{CatchUnwind, panic_message};
use crate::state::{StateKey, States};

mod dynamodb;
mod eventbridge;
mod invoke;
mod kinesis;
mod s3;
mod schedule;
mod sns;
mod sqs;

pub use dynamodb::{
    Change, DynamoDbStreamInput, StreamRecord, drive_dynamodb_stream, plain_item, plain_value,
};
pub use eventbridge::{EventBridgeEvent, EventBridgeInput, drive_event_bridge};
pub use invoke::{InvokeInput, drive_invoke};
pub use kinesis::{KinesisInput, KinesisRecord, drive_kinesis};
pub use s3::{S3Input, S3Object, drive_s3};
pub use schedule::{ScheduleInput, ScheduledEvent, drive_schedule};
pub use sns::{SnsInput, SnsMessage, drive_sns};
pub use sqs::{SqsInput, SqsMessage, drive_sqs};

/// The registry of trigger kinds: the [`TriggerKind`] variant and the
/// name the route manifest, messages and the attribute use.
macro_rules! trigger_kinds {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)*) => {
        /// What kind of source invokes a trigger handler.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum TriggerKind {
            $($(#[$doc])* $variant,)*
        }

        impl TriggerKind {
            /// Every kind, in the order of the registry.
            pub const ALL: &'static [TriggerKind] = &[$(TriggerKind::$variant),*];

            /// The name in the route manifest and in messages (`dynamodb_stream`).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(TriggerKind::$variant => $name,)*
                }
            }
        }
    };
}

trigger_kinds! {
    /// `#[sns]`: an SNS topic subscription.
    Sns => "sns",
    /// `#[sqs]`: an SQS event-source mapping.
    Sqs => "sqs",
    /// `#[kinesis]`: a Kinesis event-source mapping.
    Kinesis => "kinesis",
    /// `#[dynamodb_stream]`: a DynamoDB Streams event-source mapping.
    DynamoDbStream => "dynamodb_stream",
    /// `#[schedule]`: an EventBridge schedule rule.
    Schedule => "schedule",
    /// `#[invoke]`: direct invocation (the SDK, an IoT rule, Step Functions).
    Invoke => "invoke",
    /// `#[authorizer]`: API Gateway, before a protected route.
    Authorizer => "authorizer",
    /// `#[s3]`: an S3 bucket's event notifications.
    S3 => "s3",
    /// `#[event_pattern]`: an EventBridge rule matching an event pattern.
    EventBridge => "event_pattern",
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
    /// Topic, queue, stream (name or ARN), table (name or stream ARN),
    /// bucket, event bus, or the schedule expression; empty for `#[invoke]`.
    pub source: &'static str,
    /// Records per invocation (SQS, Kinesis, DynamoDB Streams).
    pub batch_size: Option<u32>,
    /// Seconds to gather a batch (`MaximumBatchingWindowInSeconds`).
    pub batch_window: Option<u32>,
    /// `LATEST` or `TRIM_HORIZON` (Kinesis, DynamoDB Streams).
    pub starting_position: Option<&'static str>,
    /// The schedule's constant input, as JSON text.
    pub input: Option<&'static str>,
    /// The settings of the kinds that have more than a source, as JSON
    /// text: `#[s3]`'s `events`, `prefix` and `suffix`, `#[event_pattern]`'s
    /// `pattern`.
    pub settings: Option<&'static str>,
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
            "settings": self.settings.and_then(|i| serde_json::from_str::<serde_json::Value>(i).ok()),
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

/// A record of a batch source, with the identifier `batchItemFailures`
/// names it by.
pub trait BatchRecord: TriggerInput {
    /// The message id (SQS) or sequence number (Kinesis, DynamoDB Streams).
    fn item_id(&self) -> &str;
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
        settings: None,
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
