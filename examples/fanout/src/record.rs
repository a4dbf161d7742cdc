//! The records to forward, from Kinesis (KPL aggregates expanded) and
//! DynamoDB Streams events.

use aws_lambda_events::event::{dynamodb, kinesis};
use bytes::Bytes;

use crate::kpl;

/// One record to forward.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The ARN of the source stream (`eventSourceARN`).
    pub source_arn: String,
    /// The identifier Lambda takes back in `batchItemFailures`: the
    /// sequence number of the Kinesis record (every user record of a KPL
    /// aggregate shares its aggregate's) or of the DynamoDB Streams record.
    pub item_id: String,
    /// The Kinesis partition key; for DynamoDB, the item's keys as plain
    /// JSON text.
    pub partition_key: String,
    /// The data: the Kinesis (user) record's bytes, or the DynamoDB Streams
    /// record as the stream sent it (attribute-value JSON).
    pub data: Bytes,
    /// DynamoDB Streams: the record with its keys and images as plain JSON
    /// (sent to mappings with `convertDDB`).
    pub plain: Option<Bytes>,
}

impl Record {
    /// What a mapping forwards: the plain JSON form when it asks for it and
    /// there is one.
    pub fn payload(&self, convert_ddb: bool) -> &Bytes {
        match (&self.plain, convert_ddb) {
            (Some(p), true) => p,
            _ => &self.data,
        }
    }
}

/// The records of one Kinesis event record: its user records when the KPL
/// aggregated it, else itself.
pub fn from_kinesis(rec: &kinesis::KinesisEventRecord) -> Vec<Record> {
    let source_arn = rec.event_source_arn.clone().unwrap_or_default();
    let item_id = rec.kinesis.sequence_number.clone();
    let data = &rec.kinesis.data.0;
    match kpl::deaggregate(data) {
        Some(users) => users
            .into_iter()
            .map(|u| Record {
                source_arn: source_arn.clone(),
                item_id: item_id.clone(),
                partition_key: u.partition_key,
                data: u.data,
                plain: None,
            })
            .collect(),
        None => vec![Record {
            source_arn,
            item_id,
            partition_key: rec.kinesis.partition_key.clone(),
            data: Bytes::copy_from_slice(data),
            plain: None,
        }],
    }
}

/// The record of one DynamoDB Streams event record.
pub fn from_dynamodb(rec: &dynamodb::EventRecord) -> Record {
    let raw = serde_json::to_value(rec).unwrap_or_default();
    let plain = plain_record(&raw);
    let keys = plain
        .get("dynamodb")
        .and_then(|d| d.get("Keys"))
        .cloned()
        .unwrap_or_default();
    Record {
        source_arn: rec.event_source_arn.clone().unwrap_or_default(),
        item_id: rec.change.sequence_number.clone().unwrap_or_default(),
        partition_key: keys.to_string(),
        data: Bytes::from(raw.to_string()),
        plain: Some(Bytes::from(plain.to_string())),
    }
}

/// A DynamoDB Streams record with `Keys`, `NewImage` and `OldImage` as
/// plain JSON (`{"id": {"S": "x"}}` → `{"id": "x"}`).
pub fn plain_record(raw: &serde_json::Value) -> serde_json::Value {
    let mut v = raw.clone();
    if let Some(d) = v.get_mut("dynamodb").and_then(|d| d.as_object_mut()) {
        for key in ["Keys", "NewImage", "OldImage"] {
            if let Some(image) = d.get_mut(key) {
                *image = lambada::trigger::plain_item(image);
            }
        }
    }
    v
}

/// Every record of a whole Kinesis event (the input a batch handler
/// would take).
pub fn from_kinesis_event(payload: &[u8]) -> Result<Vec<Record>, serde_json::Error> {
    let ev: kinesis::KinesisEvent = serde_json::from_slice(payload)?;
    Ok(ev.records.iter().flat_map(from_kinesis).collect())
}

/// Every record of a whole DynamoDB Streams event.
pub fn from_dynamodb_event(payload: &[u8]) -> Result<Vec<Record>, serde_json::Error> {
    let ev: dynamodb::Event = serde_json::from_slice(payload)?;
    Ok(ev.records.iter().map(from_dynamodb).collect())
}
