//! aws-lambda-fanout (the AWS Compute Blog's "A Data Sharing Platform Based
//! on AWS Lambda") in Rust: records of Kinesis streams (KPL aggregates
//! expanded into their user records) and DynamoDB Streams (converted to
//! plain JSON for mappings with `convertDDB`) forwarded to every active
//! target mapped to their source in a DynamoDB table.
//!
//! | handler | what |
//! |---|---|
//! | `#[kinesis(stream = "fanout-source")]` [`fanout_kinesis`] | each Kinesis record (its user records, when aggregated) to its source's targets |
//! | `#[dynamodb_stream(table = "fanout-source-table")]` [`fanout_dynamodb`] | each DynamoDB Streams record to its source's targets |
//!
//! Both take the whole batch (`Records<…>`): [`Fanout::forward`] groups its
//! records per target call within each service's limits
//! ([`batch::Limits`]), retries failed entries with backoff, and the records
//! still not delivered are returned as `batchItemFailures` (never dropped).
//!
//! Manage the mappings with the `fanout` binary (register, list, set,
//! unregister, hook, unhook); see [`cli`].

use lambada::prelude::*;

pub mod batch;
pub mod cli;
pub mod forward;
pub mod kpl;
pub mod mapping;
pub mod record;
pub mod targets;

pub use forward::{Fanout, Outcome, Retry};
pub use mapping::{Mapping, MappingStore, TargetType};
pub use record::Record;

/// A Kinesis batch (each record's user records, when the KPL aggregated
/// it) to the targets of its stream, grouped per target call.
#[kinesis(
    stream = "fanout-source",
    batch_size = 500,
    starting_position = "TRIM_HORIZON"
)]
pub async fn fanout_kinesis(batch: Records<KinesisRecord<Raw>>, fanout: State<Fanout>) -> Failures {
    let records: Vec<Record> = batch
        .records
        .iter()
        .flat_map(|r| record::from_kinesis(&r.record))
        .collect();
    Failures(fanout.forward(&records).await.failed)
}

/// A DynamoDB Streams batch to the targets of its table's stream.
#[dynamodb_stream(
    table = "fanout-source-table",
    batch_size = 500,
    starting_position = "TRIM_HORIZON"
)]
pub async fn fanout_dynamodb(batch: Records<StreamRecord>, fanout: State<Fanout>) -> Failures {
    let records: Vec<Record> = batch
        .records
        .iter()
        .map(|r| record::from_dynamodb(&r.record))
        .collect();
    Failures(fanout.forward(&records).await.failed)
}

/// The route table, without state (what `cargo lambada routes` reads).
pub fn routes() -> Routes {
    routes![fanout_kinesis, fanout_dynamodb]
}

/// The routes with their state.
pub fn app(fanout: Fanout) -> Routes {
    routes().with_state(fanout)
}
