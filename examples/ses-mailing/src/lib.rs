//! A healthy email database: Amazon SES bounce, complaint and delivery
//! notifications, delivered by SNS, kept per address in a DynamoDB table,
//! and an API to read it. One binary, one route table:
//!
//! | handler | what |
//! |---|---|
//! | `#[sns(topic = "ses-notifications")]` [`on_ses_notification`] | each SNS record's SES notification: a permanent bounce or a complaint disables its addresses, a delivery enables them, a transient bounce is recorded |
//! | `GET /mailing/<email>` [`get_state`] | the address's item as JSON; 404 (a problem document) when unknown |
//!
//! Writes are conditional on the notification's own time, so a late,
//! older notification never overwrites a newer state. Run locally with
//! `cargo run -p example-ses-mailing` against DynamoDB Local or moto
//! (`AWS_ENDPOINT_URL`); deploy with `cargo lambada deploy`; see the
//! README.

use lambada::prelude::*;

pub mod mailing;
pub mod notification;

pub use mailing::{Applied, Mailing, Status, StoreError, Subscriber};
pub use notification::{Action, Change, Notification, NotificationError};

/// The SES notification of one SNS record, applied to the table: one
/// conditional write per address, every one awaited before the handler
/// returns.
///
/// A notification older than an address's stored state is skipped and
/// logged, not an error. An unknown `notificationType`, a message that is
/// not a notification, or a failed write is an error: the invocation
/// fails, Lambda retries it, and then hands it to the function's
/// dead-letter queue or on-failure destination. A retry is harmless: the
/// writes that succeeded the first time are skipped as stale.
#[sns(topic = "ses-notifications")]
pub async fn on_ses_notification(
    msg: SnsMessage<Notification>,
    mailing: State<Mailing>,
) -> Result<(), NotificationError> {
    let n = &msg.body;
    let mail_id = n
        .mail
        .as_ref()
        .and_then(|m| m.message_id.as_deref())
        .unwrap_or("-");
    let changes = n.changes()?;
    if changes.is_empty() {
        tracing::info!(
            sns_message_id = %msg.record.message_id,
            notification_type = %n.notification_type,
            message = n.message.as_deref().unwrap_or(""),
            "nothing to change"
        );
        return Ok(());
    }
    let mut failed = Vec::new();
    // One address after the other, each write awaited: a notification
    // names at most 50 recipients.
    for change in &changes {
        match mailing.apply(change).await {
            Ok(Applied::Written) => tracing::info!(
                address = %change.address,
                action = ?change.action,
                at = %change.at,
                notification_type = change.notification_type,
                mail_id,
                "written"
            ),
            Ok(Applied::Stale) => tracing::info!(
                address = %change.address,
                action = ?change.action,
                at = %change.at,
                notification_type = change.notification_type,
                mail_id,
                "skipped: the address holds a newer (or the same) notification"
            ),
            Err(e) => {
                tracing::error!(address = %change.address, error = %e, "write failed");
                failed.push(format!("{}: {e}", change.address));
            }
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(NotificationError::Store(failed))
    }
}

/// Why `GET /mailing/<email>` has no item to show.
#[derive(Debug, HttpError)]
pub enum LookupError {
    /// The table has no item for the address.
    #[status(NOT_FOUND)]
    Unknown(String),
    /// DynamoDB failed: a 500, logged.
    #[status(INTERNAL_SERVER_ERROR)]
    Store(StoreError),
}

impl std::fmt::Display for LookupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LookupError::Unknown(address) => write!(f, "no notification for `{address}`"),
            LookupError::Store(e) => e.fmt(f),
        }
    }
}

/// The longest address SMTP allows (RFC 5321: 64 + 1 + 255 octets).
const MAX_ADDRESS_LEN: usize = 320;

/// `GET /mailing/<email>`: the address's item, with the table's attribute
/// names (the API on the table that the article suggests building with
/// API Gateway's DynamoDB proxy). The address is the path segment,
/// percent-decoded (`jane%40example.com` or `jane@example.com`).
#[get("/mailing/<email>")]
pub async fn get_state(
    email: &str,
    mailing: State<Mailing>,
) -> Result<Json<Subscriber>, LookupError> {
    // Not an address SES could have reported: not worth a read.
    if !email.contains('@') || email.len() > MAX_ADDRESS_LEN {
        return Err(LookupError::Unknown(email.to_owned()));
    }
    match mailing.get(email).await.map_err(LookupError::Store)? {
        Some(subscriber) => Ok(Json(subscriber)),
        None => Err(LookupError::Unknown(email.to_owned())),
    }
}

/// The route table, without its state: what `cargo lambada routes` and
/// `deploy` read.
pub fn routes() -> Routes {
    routes![on_ses_notification, get_state]
}

/// The route table with the table's client.
pub fn app(mailing: Mailing) -> Routes {
    routes().with_state(mailing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_table_for_the_trigger_and_the_route() {
        let routes = routes();
        assert_eq!(routes.len(), 1);
        let m = routes.manifest();
        let t = &m["triggers"];
        assert_eq!(t.as_array().unwrap().len(), 1);
        assert_eq!(t[0]["kind"], "sns");
        assert_eq!(t[0]["handler"], "on_ses_notification");
        assert_eq!(t[0]["source"], "ses-notifications");
        assert_eq!(t[0]["event"], "SnsMessage<Notification>");
        assert_eq!(m["routes"][0]["method"], "GET");
        assert_eq!(m["routes"][0]["path"], "/mailing/<email>");
        assert_eq!(m["routes"][0]["handler"], "get_state");
    }
}
