//! The CloudWatch Logs side: create the group and stream when missing, and
//! put batches, retrying throttling and transient failures with backoff.

use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatchlogs::types::InputLogEvent;

use crate::BoxError;
use crate::batch::Event;

/// Attempts per batch before it is given up (and reported).
pub const MAX_ATTEMPTS: u32 = 8;

/// Error codes worth another attempt.
const RETRYABLE: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ServiceUnavailableException",
    "ServiceUnavailable",
    "InternalFailure",
];

/// The wait before attempt `attempt + 1`: 200 ms doubling, at most 10 s.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(200u64.saturating_mul(1 << attempt.min(16).saturating_sub(1)))
        .min(Duration::from_secs(10))
}

/// An SDK client from the usual AWS configuration chain, with the region and
/// endpoint overridden when given.
pub async fn client(region: Option<String>, endpoint_url: Option<String>) -> Client {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = region {
        loader = loader.region(Region::new(region));
    }
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    Client::new(&loader.load().await)
}

/// One log stream in one log group.
#[derive(Debug, Clone)]
pub struct Stream {
    client: Client,
    pub group: String,
    pub name: String,
}

impl Stream {
    pub fn new(client: Client, group: String, name: String) -> Stream {
        Stream {
            client,
            group,
            name,
        }
    }

    /// Creates the group (when `create_group`) and the stream, each unless it
    /// exists already.
    pub async fn ensure(&self, create_group: bool) -> Result<(), BoxError> {
        if create_group {
            let created = self
                .client
                .create_log_group()
                .log_group_name(&self.group)
                .send()
                .await;
            already_exists_is_fine(created)
                .map_err(|e| format!("creating log group {}: {e}", self.group))?;
        }
        let created = self
            .client
            .create_log_stream()
            .log_group_name(&self.group)
            .log_stream_name(&self.name)
            .send()
            .await;
        already_exists_is_fine(created)
            .map_err(|e| format!("creating log stream {}/{}: {e}", self.group, self.name))?;
        Ok(())
    }

    /// Puts one batch (see [`crate::batch::Batcher`]). Throttling and
    /// transient failures are retried with [`backoff`]; a group or stream
    /// deleted meanwhile is created again.
    pub async fn put(&self, events: &[Event], create_group: bool) -> Result<(), BoxError> {
        let input = events
            .iter()
            .map(|e| {
                InputLogEvent::builder()
                    .timestamp(e.timestamp)
                    .message(&e.message)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut attempt = 1;
        loop {
            let sent = self
                .client
                .put_log_events()
                .log_group_name(&self.group)
                .log_stream_name(&self.name)
                .set_log_events(Some(input.clone()))
                .send()
                .await;
            let error = match sent {
                Ok(out) => {
                    if let Some(r) = out.rejected_log_events_info() {
                        eprintln!(
                            "awslogs-ship: CloudWatch rejected part of a batch of {} events \
                             (too old up to {:?}, expired up to {:?}, too new from {:?})",
                            events.len(),
                            r.too_old_log_event_end_index(),
                            r.expired_log_event_end_index(),
                            r.too_new_log_event_start_index()
                        );
                    }
                    return Ok(());
                }
                Err(error) => error,
            };
            if attempt >= MAX_ATTEMPTS {
                return Err(describe(&error).into());
            }
            if error.code() == Some("ResourceNotFoundException") {
                self.ensure(create_group).await?;
            } else if retryable(&error) {
                eprintln!(
                    "awslogs-ship: {} (attempt {attempt}/{MAX_ATTEMPTS}), retrying",
                    describe(&error)
                );
                tokio::time::sleep(backoff(attempt)).await;
            } else {
                return Err(describe(&error).into());
            }
            attempt += 1;
        }
    }
}

fn retryable<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> bool {
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        _ => error.code().is_some_and(|code| RETRYABLE.contains(&code)),
    }
}

fn describe<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    error: &SdkError<E, R>,
) -> String {
    match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => format!(
            "{}",
            aws_sdk_cloudwatchlogs::error::DisplayErrorContext(error)
        ),
    }
}

fn already_exists_is_fine<T, E, R>(result: Result<T, SdkError<E, R>>) -> Result<(), String>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("ResourceAlreadyExistsException") => Ok(()),
        Err(e) => Err(describe(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_ten_seconds() {
        let waits: Vec<_> = (1..=8).map(|a| backoff(a).as_millis()).collect();
        assert_eq!(waits, [200, 400, 800, 1600, 3200, 6400, 10_000, 10_000]);
        assert_eq!(backoff(u32::MAX), Duration::from_secs(10));
    }
}
