//! `#[event_pattern]`: one call per event an EventBridge rule matches, the
//! `detail` decoded into the handler's type; a failure is a function error
//! (EventBridge invokes asynchronously: Lambda retries).

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{
    Batch, OneFuture, Policy, TriggerCall, TriggerError, TriggerFuture, TriggerInput, drive,
    shape_error,
};

/// An event an EventBridge rule matched, its `detail` decoded as `T` (any
/// `Deserialize` type; `serde_json::Value` by default).
///
/// ```
/// use lambada::prelude::*;
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct OrderPlaced { order_id: String }
///
/// #[event_pattern(source = ["shop.orders"], detail_type = ["OrderPlaced"])]
/// async fn on_order_placed(ev: EventBridgeEvent<OrderPlaced>) {
///     println!("{} from {}", ev.detail.order_id, ev.source);
/// }
/// # let _ = routes![on_order_placed];
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct EventBridgeEvent<T = serde_json::Value> {
    /// The event's id.
    #[serde(default)]
    pub id: String,
    /// `detail-type`.
    pub detail_type: String,
    /// `source`: who sent it (`aws.s3`, `shop.orders`).
    pub source: String,
    /// The sender's account.
    #[serde(default)]
    pub account: String,
    /// When it happened (RFC 3339), as sent.
    #[serde(default)]
    pub time: String,
    /// The region.
    #[serde(default)]
    pub region: String,
    /// The ARNs of the resources it concerns.
    #[serde(default)]
    pub resources: Vec<String>,
    /// `detail`, decoded.
    pub detail: T,
}

impl<T: DeserializeOwned + Send + 'static> TriggerInput for EventBridgeEvent<T> {
    fn batch(payload: &[u8]) -> Result<Batch<Self>, TriggerError> {
        let ev: EventBridgeEvent<serde_json::Value> =
            serde_json::from_slice(payload).map_err(|e| shape_error("an EventBridge event", e))?;
        let id = ev.id.clone();
        let typed = serde_json::from_value::<T>(ev.detail)
            .map(|detail| EventBridgeEvent {
                id: ev.id,
                detail_type: ev.detail_type,
                source: ev.source,
                account: ev.account,
                time: ev.time,
                region: ev.region,
                resources: ev.resources,
                detail,
            })
            .map_err(|e| {
                format!(
                    "cannot decode its detail into `{}`: {e}",
                    std::any::type_name::<T>()
                )
            });
        Ok(Batch {
            items: vec![(id, typed)],
            policy: Policy::Single,
            undecoded: Vec::new(),
            decoded: Vec::new(),
        })
    }
}

/// Event argument types of `#[event_pattern]` handlers.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the event argument of an `#[event_pattern]` handler",
    label = "not an event type for this trigger",
    note = "`#[event_pattern]` handlers take `EventBridgeEvent<T>` (`T: Deserialize`, the event's `detail`) as their first argument"
)]
pub trait EventBridgeInput: TriggerInput {}
impl<T: DeserializeOwned + Send + 'static> EventBridgeInput for EventBridgeEvent<T> {}

/// [`drive`] for `#[event_pattern]` handlers (the bound gives the error
/// when the event argument is of another kind).
#[doc(hidden)]
pub fn drive_event_bridge<'a, T: EventBridgeInput>(
    call: &'a TriggerCall<'a>,
    one: for<'b> fn(T, &'b TriggerCall<'b>) -> OneFuture<'b>,
) -> TriggerFuture<'a> {
    drive(call, one)
}
