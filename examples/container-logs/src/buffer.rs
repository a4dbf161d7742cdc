//! The in-memory buffer between the readers and the shipper, bounded in
//! bytes (`max-buffer-size`). When it is full, `blocking` mode makes the
//! reader wait (and so the command, once its pipe fills), as the awslogs
//! driver's default mode does; `non-blocking` mode drops the event and counts
//! it, and the shipper reports the count.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{Semaphore, mpsc};

use crate::batch::Event;

/// What a reader does when the buffer is full (`mode=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Wait for room: no line is lost; a slow CloudWatch slows the command.
    Blocking,
    /// Drop the line and count it: the command never waits on logging.
    NonBlocking,
}

/// Creates a buffer holding at most `max_bytes` of messages (at least one
/// event, however large).
pub fn buffer(mode: Mode, max_bytes: usize) -> (Sender, Receiver) {
    let max = u32::try_from(max_bytes.max(1)).unwrap_or(u32::MAX);
    let room = Arc::new(Semaphore::new(max as usize));
    let dropped = Arc::new(AtomicU64::new(0));
    let (tx, rx) = mpsc::unbounded_channel();
    (
        Sender {
            tx,
            room: room.clone(),
            dropped: dropped.clone(),
            mode,
            max,
        },
        Receiver { rx, room, dropped },
    )
}

/// Every message costs its length in the bound, and at least one byte.
fn cost(event: &Event, max: u32) -> u32 {
    u32::try_from(event.message.len()).map_or(max, |n| n.clamp(1, max))
}

/// The readers' end; clone it for each reader.
#[derive(Debug, Clone)]
pub struct Sender {
    tx: mpsc::UnboundedSender<(Event, u32)>,
    room: Arc<Semaphore>,
    dropped: Arc<AtomicU64>,
    mode: Mode,
    max: u32,
}

impl Sender {
    /// Queues an event: waits for room (blocking) or drops it when there is
    /// none (non-blocking). Returns whether it was queued.
    pub async fn send(&self, event: Event) -> bool {
        let n = cost(&event, self.max);
        let permit = match self.mode {
            Mode::Blocking => self.room.acquire_many(n).await.ok(),
            Mode::NonBlocking => self.room.try_acquire_many(n).ok(),
        };
        let Some(permit) = permit else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        };
        permit.forget();
        self.tx.send((event, n)).is_ok()
    }
}

/// The shipper's end.
#[derive(Debug)]
pub struct Receiver {
    rx: mpsc::UnboundedReceiver<(Event, u32)>,
    room: Arc<Semaphore>,
    dropped: Arc<AtomicU64>,
}

impl Receiver {
    /// The next event, freeing its room; `None` once every sender is gone
    /// and the buffer is empty. Cancel safe.
    pub async fn recv(&mut self) -> Option<Event> {
        let (event, n) = self.rx.recv().await?;
        self.room.add_permits(n as usize);
        Some(event)
    }

    /// Events dropped for want of room since the last call.
    pub fn take_dropped(&self) -> u64 {
        self.dropped.swap(0, Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn non_blocking_drops_and_counts_when_full() {
        let (tx, mut rx) = buffer(Mode::NonBlocking, 10);
        assert!(tx.send(Event::new(0, "12345")).await);
        assert!(tx.send(Event::new(0, "12345")).await);
        assert!(!tx.send(Event::new(0, "1")).await);
        assert!(!tx.send(Event::new(0, "1")).await);
        assert_eq!(rx.take_dropped(), 2);
        assert_eq!(rx.take_dropped(), 0);
        assert_eq!(rx.recv().await.unwrap().message, "12345");
        // Room again for five bytes.
        assert!(tx.send(Event::new(0, "abcde")).await);
        assert!(!tx.send(Event::new(0, "f")).await);
        drop(tx);
        let rest: Vec<_> =
            std::iter::from_fn(|| rx.rx.try_recv().ok().map(|(e, _)| e.message)).collect();
        assert_eq!(rest, ["12345", "abcde"]);
        assert_eq!(rx.take_dropped(), 1);
    }

    #[tokio::test]
    async fn blocking_waits_for_room_and_loses_nothing() {
        let (tx, mut rx) = buffer(Mode::Blocking, 8);
        let writer = tokio::spawn(async move {
            for i in 0..1000 {
                assert!(tx.send(Event::new(0, format!("line {i:04}"))).await);
            }
        });
        let mut got = Vec::new();
        while let Some(event) = rx.recv().await {
            got.push(event.message);
        }
        writer.await.unwrap();
        let expected: Vec<_> = (0..1000).map(|i| format!("line {i:04}")).collect();
        assert_eq!(got, expected);
        assert_eq!(rx.take_dropped(), 0);
    }
}
