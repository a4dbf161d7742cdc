//! `PutLogEvents` batching under CloudWatch Logs' limits. No AWS here.
//!
//! A batch holds at most [`MAX_BATCH_EVENTS`] events and
//! [`MAX_BATCH_BYTES`] bytes (each message's UTF-8 length plus
//! [`EVENT_OVERHEAD`]), its events are in time order, and it spans at most
//! [`MAX_BATCH_SPAN_MS`]. A message longer than [`MAX_EVENT_BYTES`] is split
//! into several events first ([`split_message`]), as the awslogs driver does.

/// Most events in one `PutLogEvents` call.
pub const MAX_BATCH_EVENTS: usize = 10_000;
/// Most bytes in one `PutLogEvents` call, counted as messages plus overhead.
pub const MAX_BATCH_BYTES: usize = 1_048_576;
/// Bytes CloudWatch adds to every event when counting a batch.
pub const EVENT_OVERHEAD: usize = 26;
/// Longest message of one event: 256 KB less the per-event overhead.
pub const MAX_EVENT_BYTES: usize = 262_144 - EVENT_OVERHEAD;
/// Widest time span of one batch: 24 hours, in milliseconds.
pub const MAX_BATCH_SPAN_MS: i64 = 24 * 60 * 60 * 1000;

/// One log event: milliseconds since the Unix epoch and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub timestamp: i64,
    pub message: String,
}

impl Event {
    pub fn new(timestamp: i64, message: impl Into<String>) -> Event {
        Event {
            timestamp,
            message: message.into(),
        }
    }

    /// What this event counts towards [`MAX_BATCH_BYTES`].
    pub fn size(&self) -> usize {
        self.message.len() + EVENT_OVERHEAD
    }
}

/// Collects events into batches that `PutLogEvents` accepts.
///
/// Events keep the order they are pushed in. An event stamped earlier than
/// the one before it (the wall clock stepped back) takes the earlier event's
/// timestamp, so every batch, and the stream as a whole, stays in time order.
#[derive(Debug, Default)]
pub struct Batcher {
    events: Vec<Event>,
    bytes: usize,
    last_timestamp: Option<i64>,
}

impl Batcher {
    pub fn new() -> Batcher {
        Batcher::default()
    }

    /// Adds an event. When it does not fit in the pending batch, that batch
    /// is returned, complete, and the event starts the next one.
    ///
    /// The message must be at most [`MAX_EVENT_BYTES`] long ([`split_message`]).
    pub fn push(&mut self, mut event: Event) -> Option<Vec<Event>> {
        debug_assert!(event.message.len() <= MAX_EVENT_BYTES);
        if let Some(last) = self.last_timestamp {
            event.timestamp = event.timestamp.max(last);
        }
        self.last_timestamp = Some(event.timestamp);
        let full = self.events.first().is_some_and(|first| {
            self.events.len() >= MAX_BATCH_EVENTS
                || self.bytes + event.size() > MAX_BATCH_BYTES
                || event.timestamp - first.timestamp > MAX_BATCH_SPAN_MS
        });
        let done = if full { self.take() } else { None };
        self.bytes += event.size();
        self.events.push(event);
        done
    }

    /// The pending batch, if any (a flush).
    pub fn take(&mut self) -> Option<Vec<Event>> {
        if self.events.is_empty() {
            return None;
        }
        self.bytes = 0;
        Some(std::mem::take(&mut self.events))
    }

    /// Events in the pending batch.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Bytes of the pending batch, overhead included.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

/// Splits a message into pieces of at most [`MAX_EVENT_BYTES`], in order,
/// cutting only between UTF-8 characters. An empty message gives no pieces
/// (CloudWatch rejects empty events).
pub fn split_message(message: &str) -> Vec<&str> {
    split_at_most(message, MAX_EVENT_BYTES)
}

fn split_at_most(mut rest: &str, max: usize) -> Vec<&str> {
    let mut pieces = Vec::new();
    while rest.len() > max {
        let mut cut = max;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (head, tail) = rest.split_at(cut);
        pieces.push(head);
        rest = tail;
    }
    if !rest.is_empty() {
        pieces.push(rest);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(batcher: &mut Batcher, events: impl IntoIterator<Item = Event>) -> Vec<Vec<Event>> {
        let mut batches: Vec<_> = events.into_iter().filter_map(|e| batcher.push(e)).collect();
        batches.extend(batcher.take());
        batches
    }

    #[test]
    fn count_limit() {
        let mut b = Batcher::new();
        let batches = all(
            &mut b,
            (0..25_001).map(|i| Event::new(1_000, i.to_string())),
        );
        let sizes: Vec<_> = batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, [10_000, 10_000, 5_001]);
        let messages: Vec<_> = batches
            .iter()
            .flatten()
            .map(|e| e.message.clone())
            .collect();
        let expected: Vec<_> = (0..25_001).map(|i| i.to_string()).collect();
        assert_eq!(messages, expected);
    }

    #[test]
    fn byte_limit_counts_the_overhead() {
        // 1,048,576 / (998 + 26) = 1024 events exactly fill a batch.
        let mut b = Batcher::new();
        let event = Event::new(0, "x".repeat(998));
        for _ in 0..1024 {
            assert_eq!(b.push(event.clone()), None);
        }
        assert_eq!(b.bytes(), MAX_BATCH_BYTES);
        let full = b
            .push(event.clone())
            .expect("the 1025th event starts a new batch");
        assert_eq!(full.len(), 1024);
        assert_eq!(b.len(), 1);

        // Counted without the overhead, 1025 such events would be 1,022,950
        // bytes; with it, 1,049,600: over. 1025 events of 997 bytes are
        // 1,048,575 with it: one batch.
        let mut b = Batcher::new();
        let batches = all(
            &mut b,
            std::iter::repeat_n(Event::new(0, "x".repeat(997)), 1025),
        );
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].iter().map(Event::size).sum::<usize>(), 1_048_575);
    }

    #[test]
    fn largest_events_fit_four_to_a_batch() {
        let mut b = Batcher::new();
        let event = Event::new(0, "y".repeat(MAX_EVENT_BYTES));
        let batches = all(&mut b, std::iter::repeat_n(event, 9));
        let sizes: Vec<_> = batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, [4, 4, 1]);
    }

    #[test]
    fn a_batch_spans_at_most_24_hours() {
        let mut b = Batcher::new();
        let t0 = 1_700_000_000_000;
        let batches = all(
            &mut b,
            [
                Event::new(t0, "a"),
                Event::new(t0 + MAX_BATCH_SPAN_MS, "b"),
                Event::new(t0 + MAX_BATCH_SPAN_MS + 1, "c"),
                Event::new(t0 + MAX_BATCH_SPAN_MS + 2, "d"),
            ],
        );
        let messages: Vec<Vec<_>> = batches
            .iter()
            .map(|batch| batch.iter().map(|e| e.message.as_str()).collect())
            .collect();
        assert_eq!(messages, [vec!["a", "b"], vec!["c", "d"]]);
    }

    #[test]
    fn events_stay_in_time_order_and_push_order() {
        let mut b = Batcher::new();
        let batches = all(
            &mut b,
            [
                Event::new(100, "first"),
                Event::new(90, "clock stepped back"),
                Event::new(120, "later"),
            ],
        );
        assert_eq!(
            batches,
            [vec![
                Event::new(100, "first"),
                Event::new(100, "clock stepped back"),
                Event::new(120, "later"),
            ]]
        );
        // Across batches too.
        b.push(Event::new(50, "after a flush"));
        assert_eq!(b.take().unwrap()[0].timestamp, 120);
    }

    #[test]
    fn take_on_empty_is_none() {
        assert_eq!(Batcher::new().take(), None);
    }

    #[test]
    fn oversized_messages_split_in_order_on_char_boundaries() {
        let line = "a".repeat(600_000);
        let pieces = split_message(&line);
        let lens: Vec<_> = pieces.iter().map(|p| p.len()).collect();
        assert_eq!(
            lens,
            [
                MAX_EVENT_BYTES,
                MAX_EVENT_BYTES,
                600_000 - 2 * MAX_EVENT_BYTES
            ]
        );
        assert_eq!(pieces.concat(), line);

        let text = "é".repeat(10); // 2 bytes each
        let pieces = split_at_most(&text, 5);
        assert_eq!(pieces.concat(), text);
        assert!(pieces.iter().all(|p| p.len() <= 5 && p.len() % 2 == 0));
        assert_eq!(split_message(""), Vec::<&str>::new());
        assert_eq!(split_message("short"), ["short"]);
    }
}
