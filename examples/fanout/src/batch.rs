//! Grouping records per target call within each service's limits.

use crate::mapping::TargetType;

/// What one call to a target may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Records (entries) per call.
    pub max_records: usize,
    /// Bytes per call, every entry's cost added up.
    pub max_bytes: usize,
    /// Bytes of one entry.
    pub max_record_bytes: usize,
}

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

impl Limits {
    /// The limits of a target type's batch call.
    ///
    /// | type | call | records | bytes | one record |
    /// |---|---|---|---|---|
    /// | sqs | SendMessageBatch | 10 | 256 KiB | 256 KiB |
    /// | sns | PublishBatch | 10 | 256 KiB | 256 KiB |
    /// | kinesis | PutRecords | 500 | 5 MiB | 1 MiB (data + partition key) |
    /// | firehose | PutRecordBatch | 500 | 4 MiB | 1000 KiB |
    /// | lambda | Invoke (`Event`) | – | 256 KiB of JSON payload | 256 KiB |
    /// | redis | one pipelined round trip | 500 | 8 MiB | 8 MiB |
    /// | memcached | one pipelined round trip | 500 | 8 MiB | 1 MiB (item size) |
    pub const fn of(t: TargetType) -> Limits {
        match t {
            TargetType::Sqs | TargetType::Sns => Limits {
                max_records: 10,
                max_bytes: 256 * KIB,
                max_record_bytes: 256 * KIB,
            },
            TargetType::Kinesis => Limits {
                max_records: 500,
                max_bytes: 5 * MIB,
                max_record_bytes: MIB,
            },
            TargetType::Firehose => Limits {
                max_records: 500,
                max_bytes: 4 * MIB,
                max_record_bytes: 1000 * KIB,
            },
            TargetType::Lambda => Limits {
                max_records: usize::MAX,
                max_bytes: 256 * KIB,
                max_record_bytes: 256 * KIB - 64,
            },
            TargetType::Redis => Limits {
                max_records: 500,
                max_bytes: 8 * MIB,
                max_record_bytes: 8 * MIB,
            },
            TargetType::Memcached => Limits {
                max_records: 500,
                max_bytes: 8 * MIB,
                max_record_bytes: MIB,
            },
        }
    }
}

/// Splits entries of the given costs, in order, into as few calls as the
/// limits allow (greedy filling is optimal for order-keeping groups).
/// Returns the groups (indices into `costs`) and the entries no call can
/// carry (over `max_record_bytes`).
pub fn plan(costs: &[usize], limits: Limits) -> (Vec<Vec<usize>>, Vec<usize>) {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut too_big = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut bytes = 0usize;
    for (i, &cost) in costs.iter().enumerate() {
        if cost > limits.max_record_bytes || cost > limits.max_bytes {
            too_big.push(i);
            continue;
        }
        if !current.is_empty()
            && (current.len() >= limits.max_records || bytes + cost > limits.max_bytes)
        {
            groups.push(std::mem::take(&mut current));
            bytes = 0;
        }
        current.push(i);
        bytes += cost;
    }
    if !current.is_empty() {
        groups.push(current);
    }
    (groups, too_big)
}

/// The fewest calls the limits allow for entries of these costs (what
/// [`plan`] achieves).
pub fn minimum_calls(costs: &[usize], limits: Limits) -> usize {
    plan(costs, limits).0.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqs_groups_by_ten_and_by_size() {
        let l = Limits::of(TargetType::Sqs);
        let (g, big) = plan(&[100; 25], l);
        assert_eq!(g.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 5]);
        assert!(big.is_empty());
        // 100 KiB each: two per call.
        let (g, _) = plan(&[100 * 1024; 5], l);
        assert_eq!(g.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
        // Too big for any call: reported, not dropped silently.
        let (g, big) = plan(&[10, 300 * 1024, 10], l);
        assert_eq!(g, [vec![0, 2]]);
        assert_eq!(big, [1]);
    }

    #[test]
    fn kinesis_and_firehose_take_500_within_their_bytes() {
        let (g, _) = plan(&[100; 1200], Limits::of(TargetType::Kinesis));
        assert_eq!(g.iter().map(Vec::len).collect::<Vec<_>>(), [500, 500, 200]);
        // 10 KiB each: 5 MiB holds 512, so the count binds.
        assert_eq!(
            minimum_calls(&[10 * 1024; 500], Limits::of(TargetType::Kinesis)),
            1
        );
        // 900 KiB each: 4 per Firehose call (4 MiB), 5 per Kinesis call.
        let costs = [900 * 1024; 20];
        assert_eq!(minimum_calls(&costs, Limits::of(TargetType::Firehose)), 5);
        assert_eq!(minimum_calls(&costs, Limits::of(TargetType::Kinesis)), 4);
    }
}
