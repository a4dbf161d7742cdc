//! `#[invoke]`: the payload of a direct invocation, as `Json<T>` or
//! `serde_json::Value`; the handler's output is the response.

use serde::de::DeserializeOwned;

use super::{OneFuture, TriggerCall, TriggerFuture, TriggerInput, drive};
use crate::extract::Json;

/// Event argument types of `#[invoke]` handlers.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the event argument of an `#[invoke]` handler",
    label = "not an event type for this trigger",
    note = "`#[invoke]` handlers take `Json<T>` or `serde_json::Value`: the invocation payload"
)]
pub trait InvokeInput: TriggerInput {}
impl<T: DeserializeOwned + Send + 'static> InvokeInput for Json<T> {}
impl InvokeInput for serde_json::Value {}

/// [`drive`] for `#[invoke]` handlers (the bound gives the error when the
/// event argument is of another kind).
#[doc(hidden)]
pub fn drive_invoke<'a, T: InvokeInput>(
    call: &'a TriggerCall<'a>,
    one: for<'b> fn(T, &'b TriggerCall<'b>) -> OneFuture<'b>,
) -> TriggerFuture<'a> {
    drive(call, one)
}
