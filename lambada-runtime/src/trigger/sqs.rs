//! `#[sqs]`: one call per message, failures reported by message id in
//! `batchItemFailures` (FIFO queues: the first failure and every later
//! message).

use aws_lambda_events::event;

use super::{
    Batch, BatchRecord, OneFuture, Payload, Policy, Raw, Records, TriggerCall, TriggerError,
    TriggerFuture, TriggerInput, drive, shape_error,
};

/// One SQS message.
#[derive(Debug, Clone)]
pub struct SqsMessage<T = Raw> {
    /// The body, decoded.
    pub body: T,
    /// The message as SQS sent it (id, attributes, receipt handle, …).
    pub record: event::sqs::SqsMessage,
}

impl<T: Payload + Send + 'static> BatchRecord for SqsMessage<T> {
    fn item_id(&self) -> &str {
        self.record.message_id.as_deref().unwrap_or("")
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

/// Event argument types of `#[sqs]` handlers.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the event argument of an `#[sqs]` handler",
    label = "not an event type for this trigger",
    note = "`#[sqs]` handlers take `SqsMessage<T>` (`T: Deserialize`, or `Raw`), or `Records<SqsMessage<T>>` for the whole batch, as their first argument"
)]
pub trait SqsInput: TriggerInput {}
impl<T: Payload + Send + 'static> SqsInput for SqsMessage<T> {}
impl<T: Payload + Send + 'static> SqsInput for Records<SqsMessage<T>> {}

/// [`drive`] for `#[sqs]` handlers (the bound gives the error when the
/// event argument is of another kind).
#[doc(hidden)]
pub fn drive_sqs<'a, T: SqsInput>(
    call: &'a TriggerCall<'a>,
    one: for<'b> fn(T, &'b TriggerCall<'b>) -> OneFuture<'b>,
) -> TriggerFuture<'a> {
    drive(call, one)
}
