//! `#[kinesis]`: one call per record, in order; the first failure stops
//! the batch and is reported with every later record.

use aws_lambda_events::event;

use super::{
    Batch, BatchRecord, OneFuture, Payload, Policy, Raw, Records, TriggerCall, TriggerError,
    TriggerFuture, TriggerInput, drive, shape_error,
};

/// One Kinesis record.
#[derive(Debug, Clone)]
pub struct KinesisRecord<T = Raw> {
    /// The record's data (base64-decoded), decoded.
    pub data: T,
    /// The record as Kinesis sent it (partition key, sequence number, …).
    pub record: event::kinesis::KinesisEventRecord,
}

impl<T: Payload + Send + 'static> BatchRecord for KinesisRecord<T> {
    fn item_id(&self) -> &str {
        &self.record.kinesis.sequence_number
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

/// Event argument types of `#[kinesis]` handlers.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the event argument of a `#[kinesis]` handler",
    label = "not an event type for this trigger",
    note = "`#[kinesis]` handlers take `KinesisRecord<T>` (`T: Deserialize`, or `Raw`), or `Records<KinesisRecord<T>>` for the whole batch, as their first argument"
)]
pub trait KinesisInput: TriggerInput {}
impl<T: Payload + Send + 'static> KinesisInput for KinesisRecord<T> {}
impl<T: Payload + Send + 'static> KinesisInput for Records<KinesisRecord<T>> {}

/// [`drive`] for `#[kinesis]` handlers (the bound gives the error when the
/// event argument is of another kind).
#[doc(hidden)]
pub fn drive_kinesis<'a, T: KinesisInput>(
    call: &'a TriggerCall<'a>,
    one: for<'b> fn(T, &'b TriggerCall<'b>) -> OneFuture<'b>,
) -> TriggerFuture<'a> {
    drive(call, one)
}
