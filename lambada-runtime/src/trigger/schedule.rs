//! `#[schedule]`: one call per EventBridge scheduled event (or the rule's
//! constant input); a failure is a function error.

use serde::de::DeserializeOwned;

use super::{
    Batch, OneFuture, Policy, TriggerCall, TriggerError, TriggerFuture, TriggerInput, drive,
    shape_error,
};
use crate::extract::Json;

pub use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent as ScheduledEvent;

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

/// [`drive`] for `#[schedule]` handlers (the bound gives the error when the
/// event argument is of another kind).
#[doc(hidden)]
pub fn drive_schedule<'a, T: ScheduleInput>(
    call: &'a TriggerCall<'a>,
    one: for<'b> fn(T, &'b TriggerCall<'b>) -> OneFuture<'b>,
) -> TriggerFuture<'a> {
    drive(call, one)
}
