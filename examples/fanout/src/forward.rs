//! The fan-out core: every record to every active mapping of its source,
//! grouped per call within the target's limits, failed entries retried
//! with backoff, and what still failed reported by item id.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use crate::batch::{Limits, plan};
use crate::mapping::{Mapping, MappingStore, TargetType};

/// Calls in flight at once to one unordered target.
pub const PARALLEL: usize = 8;

/// Sending to one mapping or one group: entries delivered, and the
/// indices of the records that were not.
type Job<'a> = Pin<Box<dyn Future<Output = (usize, Vec<usize>)> + Send + 'a>>;
use crate::record::Record;
use crate::targets::{Entry, Targets, cost};

/// How failed entries are retried.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Calls per group at most (the first one included).
    pub attempts: u32,
    /// The wait before the first retry; doubled before each next one.
    pub base: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Default for Retry {
    fn default() -> Retry {
        Retry {
            attempts: 4,
            base: Duration::from_millis(100),
            max: Duration::from_secs(2),
        }
    }
}

impl Retry {
    fn delay(&self, retry: u32) -> Duration {
        self.base
            .saturating_mul(1u32 << retry.min(16))
            .min(self.max)
    }
}

/// What [`Fanout::forward`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The item ids (sequence numbers) of records not delivered to every
    /// target, in the records' order: the invocation's
    /// `batchItemFailures`.
    pub failed: Vec<String>,
    /// Entries delivered (a record sent to two targets counts twice).
    pub delivered: usize,
    /// Calls made to targets (retries included).
    pub calls: u64,
}

impl Outcome {
    /// The response of a Kinesis or DynamoDB Streams batch:
    /// `{"batchItemFailures": [{"itemIdentifier": …}]}`.
    pub fn batch_response(&self) -> serde_json::Value {
        let items: Vec<_> = self
            .failed
            .iter()
            .map(|id| serde_json::json!({ "itemIdentifier": id }))
            .collect();
        serde_json::json!({ "batchItemFailures": items })
    }
}

/// The function's state: the mapping table and the target clients.
#[derive(Debug)]
pub struct Fanout {
    /// The mappings.
    pub store: MappingStore,
    /// The targets' clients.
    pub targets: Targets,
    /// The retry policy.
    pub retry: Retry,
}

impl Fanout {
    /// The table `FANOUT_TABLE` (default `fanoutTargets`), cached for
    /// `FANOUT_CACHE_SECONDS` (default 30); SDK configuration from the
    /// environment.
    pub async fn from_env() -> Fanout {
        let conf = aws_config::load_from_env().await;
        let table = std::env::var("FANOUT_TABLE").unwrap_or_else(|_| "fanoutTargets".into());
        let ttl = std::env::var("FANOUT_CACHE_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(30);
        Fanout::new(&conf, table, Duration::from_secs(ttl))
    }

    /// From an SDK configuration.
    pub fn new(conf: &aws_config::SdkConfig, table: impl Into<String>, ttl: Duration) -> Fanout {
        Fanout {
            store: MappingStore::new(aws_sdk_dynamodb::Client::new(conf), table, ttl),
            targets: Targets::new(conf),
            retry: Retry::default(),
        }
    }

    /// Forwards the records to the active mappings of their sources.
    pub async fn forward(&self, records: &[Record]) -> Outcome {
        let calls_before = self.targets.calls();
        let mut sources: Vec<&str> = Vec::new();
        for r in records {
            if !sources.contains(&r.source_arn.as_str()) {
                sources.push(&r.source_arn);
            }
        }
        let mut failed: HashSet<&str> = HashSet::new();
        let mut delivered = 0;
        for source in sources {
            let of_source: Vec<&Record> =
                records.iter().filter(|r| r.source_arn == source).collect();
            let mappings = match self.store.active_for(source).await {
                Ok(m) => m,
                Err(e) => {
                    tracing::error!(source, error = %e, "cannot read the mappings");
                    failed.extend(of_source.iter().map(|r| r.item_id.as_str()));
                    continue;
                }
            };
            if mappings.is_empty() {
                tracing::warn!(source, "no active mapping: records not forwarded");
            }
            let jobs: Vec<Job<'_>> = mappings
                .iter()
                .map(|m| Box::pin(self.to_mapping(m, &of_source)) as Job<'_>)
                .collect();
            for (ok, bad) in join_all(jobs).await {
                delivered += ok;
                failed.extend(bad.into_iter().map(|i| of_source[i].item_id.as_str()));
            }
        }
        let mut seen = HashSet::new();
        let failed = records
            .iter()
            .map(|r| r.item_id.as_str())
            .filter(|id| failed.contains(id) && seen.insert(*id))
            .map(str::to_owned)
            .collect();
        Outcome {
            failed,
            delivered,
            calls: self.targets.calls() - calls_before,
        }
    }

    /// Sends the records to one mapping: delivered entries, and the
    /// indices of the records that were not.
    async fn to_mapping(&self, m: &Mapping, records: &[&Record]) -> (usize, Vec<usize>) {
        let entries: Vec<Entry> = records
            .iter()
            .map(|r| Entry {
                source_arn: r.source_arn.clone(),
                partition_key: r.partition_key.clone(),
                body: r.payload(m.convert_ddb).clone(),
            })
            .collect();
        let costs: Vec<usize> = entries.iter().map(|e| cost(m.target, e)).collect();
        let (groups, too_big) = plan(&costs, Limits::of(m.target));
        for &i in &too_big {
            tracing::error!(
                mapping = %m.id, target = %m.target, record = %records[i].item_id,
                bytes = costs[i], "record too big for the target"
            );
        }
        let mut failed = too_big;
        let mut delivered = 0;
        // Ordered targets (a Kinesis stream, a Redis list or channel) get
        // one call after the other; the others up to `PARALLEL` at once.
        let parallel = match m.target {
            TargetType::Kinesis | TargetType::Redis => 1,
            _ => PARALLEL,
        };
        for window in groups.chunks(parallel) {
            let jobs: Vec<Job<'_>> = window
                .iter()
                .map(|g| Box::pin(self.to_group(m, &entries, records, g.clone())) as Job<'_>)
                .collect();
            for (ok, bad) in join_all(jobs).await {
                delivered += ok;
                failed.extend(bad);
            }
        }
        (delivered, failed)
    }

    /// One group (one call's worth of entries), retried with backoff:
    /// delivered entries, and the indices of those that never were.
    async fn to_group(
        &self,
        m: &Mapping,
        entries: &[Entry],
        records: &[&Record],
        group: Vec<usize>,
    ) -> (usize, Vec<usize>) {
        let mut delivered = 0;
        let mut pending = group;
        for attempt in 0..self.retry.attempts.max(1) {
            if attempt > 0 {
                tokio::time::sleep(self.retry.delay(attempt - 1)).await;
            }
            let batch: Vec<&Entry> = pending.iter().map(|&i| &entries[i]).collect();
            match self.targets.send(m, &batch).await {
                Ok(errors) => {
                    let mut still = Vec::new();
                    for (&i, e) in pending.iter().zip(errors) {
                        match e {
                            None => delivered += 1,
                            Some(reason) => {
                                tracing::warn!(
                                    mapping = %m.id, target = %m.target, attempt,
                                    record = %records[i].item_id, error = %reason,
                                    "entry not delivered"
                                );
                                still.push(i);
                            }
                        }
                    }
                    pending = still;
                }
                Err(e) => tracing::warn!(
                    mapping = %m.id, target = %m.target, attempt,
                    entries = pending.len(), error = %e, "call failed"
                ),
            }
            if pending.is_empty() {
                break;
            }
        }
        if !pending.is_empty() {
            tracing::error!(
                mapping = %m.id, target = %m.target, entries = pending.len(),
                "not delivered after every retry: reported as batch item failures"
            );
        }
        (delivered, pending)
    }
}

/// Runs the futures concurrently; their outputs in order.
async fn join_all<T>(mut futs: Vec<Pin<Box<dyn Future<Output = T> + Send + '_>>>) -> Vec<T> {
    let mut out: Vec<Option<T>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (f, slot) in futs.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *slot = Some(v),
                    Poll::Pending => done = false,
                }
            }
        }
        if done { Poll::Ready(()) } else { Poll::Pending }
    })
    .await;
    out.into_iter().flatten().collect()
}
