//! `#[sns]`: one call per record of an SNS notification; any failure fails
//! the invocation (SNS invokes asynchronously: Lambda retries).

use aws_lambda_events::event;

use super::{
    Batch, OneFuture, Payload, Policy, Raw, TriggerCall, TriggerError, TriggerFuture, TriggerInput,
    drive, shape_error,
};

/// One SNS message (an `#[sns]` handler runs once per record).
#[derive(Debug, Clone)]
pub struct SnsMessage<T = Raw> {
    /// The message, decoded.
    pub body: T,
    /// The record as SNS sent it (message id, topic ARN, subject,
    /// timestamp, attributes).
    pub record: event::sns::SnsMessage,
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

/// Event argument types of `#[sns]` handlers.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the event argument of an `#[sns]` handler",
    label = "not an event type for this trigger",
    note = "`#[sns]` handlers take `SnsMessage<T>` (`T: Deserialize`, or `Raw`) as their first argument"
)]
pub trait SnsInput: TriggerInput {}
impl<T: Payload + Send + 'static> SnsInput for SnsMessage<T> {}

/// [`drive`] for `#[sns]` handlers (the bound gives the error when the
/// event argument is of another kind).
#[doc(hidden)]
pub fn drive_sns<'a, T: SnsInput>(
    call: &'a TriggerCall<'a>,
    one: for<'b> fn(T, &'b TriggerCall<'b>) -> OneFuture<'b>,
) -> TriggerFuture<'a> {
    drive(call, one)
}
