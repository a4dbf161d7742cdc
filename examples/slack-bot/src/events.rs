//! The Events API: the `url_verification` handshake, and event callbacks
//! acknowledged within Slack's three-second budget.
//!
//! Slack retries an event it did not see acknowledged (up to three times,
//! with `X-Slack-Retry-Num`), so a slow answer means duplicate deliveries.
//! Under Lambda nothing may run after the response is sent (the execution
//! environment is frozen), so "acknowledge first, work later" cannot be a
//! background task: the handler does only bounded in-memory work (parse,
//! de-duplicate, record) and answers; real work belongs on a queue (SQS, an
//! asynchronous invoke) fed from here.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use serde::Deserialize;

/// The outer envelope of everything Slack posts to the events URL.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Envelope {
    /// Sent once, when the URL is entered in the app's settings.
    UrlVerification {
        /// To be echoed back.
        challenge: String,
    },
    /// An event the app subscribed to.
    EventCallback {
        /// Unique per event, the same on every retry.
        event_id: String,
        /// The workspace.
        #[serde(default)]
        team_id: String,
        /// The event itself.
        event: Event,
    },
    /// Slack is dropping events because the app answers too slowly.
    AppRateLimited {
        /// The minute (Unix time) that was limited.
        #[serde(default)]
        minute_rate_limited: i64,
    },
    /// Anything newer than this bot.
    #[serde(other)]
    Unknown,
}

/// An inner event (`app_mention`, `message`, ...): the fields this bot logs.
#[derive(Debug, Deserialize)]
pub struct Event {
    /// `app_mention`, `message`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// Who.
    #[serde(default)]
    pub user: Option<String>,
    /// Where.
    #[serde(default)]
    pub channel: Option<String>,
}

/// How many event ids are remembered for de-duplication.
pub const REMEMBERED: usize = 1024;

/// The events handled by this execution environment, de-duplicated by
/// `event_id` (a bounded window: the most recent [`REMEMBERED`] ids).
///
/// Each Lambda execution environment has its own: a retry that lands on
/// another one is handled again. Exactly-once needs a shared store (a
/// DynamoDB conditional put on the event id).
#[derive(Debug, Clone, Default)]
pub struct EventLog(Arc<Mutex<Seen>>);

#[derive(Debug, Default)]
struct Seen {
    order: VecDeque<String>,
    ids: HashSet<String>,
    handled: u64,
}

impl EventLog {
    /// Records an event; `false` when this id was already handled.
    pub fn first_delivery(&self, event_id: &str) -> bool {
        let mut seen = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.ids.contains(event_id) {
            return false;
        }
        if seen.order.len() == REMEMBERED
            && let Some(old) = seen.order.pop_front()
        {
            seen.ids.remove(&old);
        }
        seen.order.push_back(event_id.to_owned());
        seen.ids.insert(event_id.to_owned());
        seen.handled += 1;
        true
    }

    /// How many distinct events were handled.
    pub fn handled(&self) -> u64 {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .handled
    }
}
