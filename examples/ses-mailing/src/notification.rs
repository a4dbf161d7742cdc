//! SES notifications as SES publishes them to SNS, and what each one means
//! for the mailing list.
//!
//! The message of each SNS record is one JSON object: a `notificationType`,
//! a `mail` object (the message sent), and a `bounce`, `complaint` or
//! `delivery` object (AWS, "Amazon SNS notification contents for Amazon
//! SES"). SES may add fields at any time, so unknown fields are ignored.
//!
//! | notification | change, for each address |
//! |---|---|
//! | `Bounce`, `bounceType` `Permanent` | [`Action::Disable`] each of `bouncedRecipients` |
//! | `Bounce`, `Transient` or `Undetermined` | [`Action::RecordTransient`]: noted, the state kept |
//! | `Complaint` | [`Action::Disable`] each of `complainedRecipients` |
//! | `Delivery` | [`Action::Enable`] each of `delivery.recipients` |
//! | `AmazonSnsSubscriptionSucceeded` | none: SES's test message when a topic is set up |
//! | anything else | [`NotificationError::UnknownType`] |

use chrono::{DateTime, Datelike, SecondsFormat, Utc};
use serde::Deserialize;

/// The `notificationType` SES sends once, when a topic is set up for an
/// identity's notifications.
pub const SUBSCRIPTION_SUCCEEDED: &str = "AmazonSnsSubscriptionSucceeded";

/// One SES notification: the message of one SNS record.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// `Bounce`, `Complaint`, `Delivery` (or `AmazonSnsSubscriptionSucceeded`).
    pub notification_type: String,
    /// The message the notification is about (absent from
    /// `AmazonSnsSubscriptionSucceeded`).
    pub mail: Option<Mail>,
    /// For `Bounce`.
    pub bounce: Option<Bounce>,
    /// For `Complaint`.
    pub complaint: Option<Complaint>,
    /// For `Delivery`.
    pub delivery: Option<Delivery>,
    /// The text of `AmazonSnsSubscriptionSucceeded`.
    pub message: Option<String>,
}

/// The `mail` object: the message sent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mail {
    /// When the message was sent (ISO 8601).
    pub timestamp: Option<String>,
    /// SES's id of the message.
    pub message_id: Option<String>,
    /// The sender (`john@example.com`, or `"John" <john@example.com>`).
    pub source: Option<String>,
}

/// The `bounce` object.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bounce {
    /// `Permanent`, `Transient` or `Undetermined`.
    pub bounce_type: String,
    /// `General`, `NoEmail`, `Suppressed`, `MailboxFull`, …
    pub bounce_sub_type: Option<String>,
    /// The addresses that bounced.
    pub bounced_recipients: Vec<BouncedRecipient>,
    /// When the bounce happened (ISO 8601).
    pub timestamp: Option<String>,
}

/// One address of a bounce.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BouncedRecipient {
    /// The address.
    pub email_address: String,
    /// The receiving server's reply, when there was a DSN
    /// (`smtp; 550 5.1.1 … User unknown`).
    pub diagnostic_code: Option<String>,
}

/// The `complaint` object.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Complaint {
    /// The addresses that complained.
    pub complained_recipients: Vec<ComplainedRecipient>,
    /// When the ISP sent the complaint (ISO 8601).
    pub timestamp: Option<String>,
    /// `abuse`, `fraud`, `not-spam`, …, when the ISP says.
    pub complaint_feedback_type: Option<String>,
}

/// One address of a complaint.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComplainedRecipient {
    /// The address.
    pub email_address: String,
}

/// The `delivery` object.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// When the receiving server accepted the message (ISO 8601).
    pub timestamp: Option<String>,
    /// The addresses it was delivered to.
    pub recipients: Vec<String>,
}

/// What a notification does to one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Mail may be sent to it (`state` = `enable`).
    Enable,
    /// No more mail to it (`state` = `disable`).
    Disable,
    /// A transient or undetermined bounce: recorded, the state kept (an
    /// address first seen this way is `enable`).
    RecordTransient,
}

/// One write to the table: an address, what happens to it, when, and what
/// is stored about the notification that caused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The address (the table's partition key `UserId`).
    pub address: String,
    /// What happens to it.
    pub action: Action,
    /// When SES says it happened, in UTC with milliseconds
    /// (`2012-05-25T21:59:38.623Z`): a later notification replaces the
    /// state, an earlier one is skipped.
    pub at: String,
    /// `Bounce`, `Complaint` or `Delivery`.
    pub notification_type: &'static str,
    /// `mail.source`.
    pub from: Option<String>,
    /// `mail.timestamp`, as sent (what the article stored as `timestamp`).
    pub sent: Option<String>,
    /// `mail.messageId`.
    pub message_id: Option<String>,
    /// `bounce.bounceType` (bounces only).
    pub bounce_type: Option<String>,
    /// `bounce.bounceSubType` (bounces only).
    pub bounce_sub_type: Option<String>,
    /// The address's `diagnosticCode` (bounces with a DSN only).
    pub diagnostic_code: Option<String>,
    /// `complaint.complaintFeedbackType` (complaints only).
    pub complaint_feedback_type: Option<String>,
}

/// Why a notification cannot be applied. Each is a function error, so the
/// message is retried and, failing again, ends in the function's
/// dead-letter queue or on-failure destination rather than being lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotificationError {
    /// A `notificationType` this function does not handle.
    UnknownType(String),
    /// A known type without what it needs (its object, a timestamp, an
    /// address).
    Malformed(String),
    /// DynamoDB failed for these addresses (the others were written).
    Store(Vec<String>),
}

impl std::fmt::Display for NotificationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotificationError::UnknownType(t) => {
                write!(f, "unknown notificationType `{t}`")
            }
            NotificationError::Malformed(why) => write!(f, "malformed notification: {why}"),
            NotificationError::Store(errors) => {
                write!(f, "{} write(s) failed: {}", errors.len(), errors.join("; "))
            }
        }
    }
}

impl std::error::Error for NotificationError {}

/// An SES timestamp (`2016-01-27T14:59:38.237Z`,
/// `2012-05-25T14:59:38.623-07:00`) in UTC with milliseconds, so that the
/// stored times compare as strings in time order.
pub fn event_time(raw: &str) -> Result<String, NotificationError> {
    let bad = |why: String| NotificationError::Malformed(format!("timestamp `{raw}`: {why}"));
    let t = DateTime::parse_from_rfc3339(raw)
        .map_err(|e| bad(e.to_string()))?
        .with_timezone(&Utc);
    // Four-digit years keep the text the same length, hence string order
    // the same as time order.
    if !(1000..=9999).contains(&t.year()) {
        return Err(bad("the year is out of range".into()));
    }
    Ok(t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

impl Notification {
    /// The writes this notification asks for, one per address (an address
    /// listed twice is written once).
    pub fn changes(&self) -> Result<Vec<Change>, NotificationError> {
        let missing = |what: &str| {
            NotificationError::Malformed(format!(
                "a {} notification without `{what}`",
                self.notification_type
            ))
        };
        let (kind, event_timestamp, recipients): (&'static str, _, Vec<(Action, &str, _)>) =
            match self.notification_type.as_str() {
                "Bounce" => {
                    let b = self.bounce.as_ref().ok_or_else(|| missing("bounce"))?;
                    let action = if b.bounce_type == "Permanent" {
                        Action::Disable
                    } else {
                        Action::RecordTransient
                    };
                    let recipients = b
                        .bounced_recipients
                        .iter()
                        .map(|r| (action, r.email_address.as_str(), r.diagnostic_code.clone()))
                        .collect();
                    ("Bounce", b.timestamp.as_deref(), recipients)
                }
                "Complaint" => {
                    let c = self
                        .complaint
                        .as_ref()
                        .ok_or_else(|| missing("complaint"))?;
                    let recipients = c
                        .complained_recipients
                        .iter()
                        .map(|r| (Action::Disable, r.email_address.as_str(), None))
                        .collect();
                    ("Complaint", c.timestamp.as_deref(), recipients)
                }
                "Delivery" => {
                    let d = self.delivery.as_ref().ok_or_else(|| missing("delivery"))?;
                    let recipients = d
                        .recipients
                        .iter()
                        .map(|r| (Action::Enable, r.as_str(), None))
                        .collect();
                    ("Delivery", d.timestamp.as_deref(), recipients)
                }
                SUBSCRIPTION_SUCCEEDED => return Ok(Vec::new()),
                other => return Err(NotificationError::UnknownType(other.to_owned())),
            };
        let mail = self.mail.clone().unwrap_or_default();
        // The event's own time; the sending time only when SES gave none.
        let raw_time = event_timestamp
            .or(mail.timestamp.as_deref())
            .ok_or_else(|| missing("timestamp"))?;
        let at = event_time(raw_time)?;
        let bounce = self.bounce.as_ref().filter(|_| kind == "Bounce");
        let complaint = self.complaint.as_ref().filter(|_| kind == "Complaint");
        let mut changes: Vec<Change> = Vec::with_capacity(recipients.len());
        for (action, address, diagnostic_code) in recipients {
            let address = address.trim();
            if address.is_empty() {
                return Err(missing("a recipient address"));
            }
            if changes.iter().any(|c| c.address == address) {
                continue;
            }
            changes.push(Change {
                address: address.to_owned(),
                action,
                at: at.clone(),
                notification_type: kind,
                from: mail.source.clone(),
                sent: mail.timestamp.clone(),
                message_id: mail.message_id.clone(),
                bounce_type: bounce.map(|b| b.bounce_type.clone()),
                bounce_sub_type: bounce.and_then(|b| b.bounce_sub_type.clone()),
                diagnostic_code,
                complaint_feedback_type: complaint.and_then(|c| c.complaint_feedback_type.clone()),
            });
        }
        Ok(changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Notification {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn times_are_utc_with_milliseconds() {
        let t = |raw: &str| event_time(raw).unwrap();
        assert_eq!(t("2016-01-27T14:59:38.237Z"), "2016-01-27T14:59:38.237Z");
        assert_eq!(
            t("2012-05-25T14:59:38.623-07:00"),
            "2012-05-25T21:59:38.623Z"
        );
        assert_eq!(t("2016-01-27T14:59:38Z"), "2016-01-27T14:59:38.000Z");
        assert_eq!(
            t("2016-01-27T14:59:38.2371234+00:00"),
            "2016-01-27T14:59:38.237Z"
        );
        // Later in time, later as text, whatever the offset it came with.
        assert!(t("2012-05-25T14:59:38.623-07:00") > t("2012-05-25T21:00:00.000Z"));
        for bad in [
            "",
            "yesterday",
            "2016-01-27",
            "2016-01-27 14:59:38",
            "0999-01-01T00:00:00Z",
        ] {
            assert!(
                matches!(event_time(bad), Err(NotificationError::Malformed(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_articles_complaint_disables() {
        let n = parse(include_str!("../tests/data/complaint-article.json"));
        let changes = n.changes().unwrap();
        assert_eq!(changes.len(), 1);
        let c = &changes[0];
        assert_eq!(c.address, "recipient1@example.com");
        assert_eq!(c.action, Action::Disable);
        assert_eq!(c.at, "2012-05-25T21:59:38.623Z");
        assert_eq!(c.notification_type, "Complaint");
        assert_eq!(c.from.as_deref(), Some("email_1337983178623@amazon.com"));
        assert_eq!(c.sent.as_deref(), Some("2012-05-25T14:59:38.623-07:00"));
        assert_eq!(c.complaint_feedback_type.as_deref(), Some("abuse"));
        assert_eq!(c.bounce_type, None);
    }

    #[test]
    fn permanent_bounces_disable_transient_ones_are_recorded() {
        let n = parse(include_str!("../tests/data/bounce-permanent.json"));
        let changes = n.changes().unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].address, "jane@example.com");
        assert_eq!(changes[0].action, Action::Disable);
        assert_eq!(changes[0].bounce_type.as_deref(), Some("Permanent"));
        assert_eq!(changes[0].bounce_sub_type.as_deref(), Some("General"));
        assert!(
            changes[0]
                .diagnostic_code
                .as_deref()
                .unwrap()
                .starts_with("smtp; 550 5.1.1")
        );

        let n = parse(include_str!("../tests/data/bounce-transient.json"));
        let changes = n.changes().unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].address, "richard@example.com");
        assert_eq!(changes[0].action, Action::RecordTransient);
        assert_eq!(changes[0].bounce_sub_type.as_deref(), Some("MailboxFull"));

        let mut n = parse(include_str!("../tests/data/bounce-transient.json"));
        n.bounce.as_mut().unwrap().bounce_type = "Undetermined".into();
        assert_eq!(n.changes().unwrap()[0].action, Action::RecordTransient);
    }

    #[test]
    fn bounces_without_a_dsn_name_every_address() {
        let n = parse(include_str!("../tests/data/bounce-no-dsn.json"));
        let changes = n.changes().unwrap();
        let addresses: Vec<&str> = changes.iter().map(|c| c.address.as_str()).collect();
        assert_eq!(addresses, ["jane@example.com", "richard@example.com"]);
        assert!(changes.iter().all(|c| c.action == Action::Disable));
        assert!(changes.iter().all(|c| c.diagnostic_code.is_none()));
    }

    #[test]
    fn deliveries_enable_every_recipient() {
        let n = parse(include_str!("../tests/data/delivery.json"));
        let changes = n.changes().unwrap();
        let addresses: Vec<&str> = changes.iter().map(|c| c.address.as_str()).collect();
        assert_eq!(addresses, ["jane@example.com", "mary@example.com"]);
        assert!(changes.iter().all(|c| c.action == Action::Enable));
        // The delivery's time, not the sending time.
        assert_eq!(changes[0].at, "2016-01-27T14:59:38.864Z");
        assert_eq!(changes[0].sent.as_deref(), Some("2016-01-27T14:59:38.237Z"));
    }

    #[test]
    fn the_sending_time_stands_in_for_a_missing_event_time() {
        let mut n = parse(include_str!("../tests/data/delivery.json"));
        n.delivery.as_mut().unwrap().timestamp = None;
        assert_eq!(n.changes().unwrap()[0].at, "2016-01-27T14:59:38.237Z");
        n.mail = None;
        assert_eq!(
            n.changes().unwrap_err(),
            NotificationError::Malformed("a Delivery notification without `timestamp`".into())
        );
    }

    #[test]
    fn the_subscription_message_changes_nothing() {
        let n = parse(include_str!("../tests/data/subscription-succeeded.json"));
        assert_eq!(n.notification_type, SUBSCRIPTION_SUCCEEDED);
        assert_eq!(n.changes().unwrap(), []);
    }

    #[test]
    fn unknown_types_and_missing_parts_are_errors() {
        let n = parse(r#"{"notificationType": "Received", "mail": {}}"#);
        assert_eq!(
            n.changes().unwrap_err(),
            NotificationError::UnknownType("Received".into())
        );
        assert_eq!(
            n.changes().unwrap_err().to_string(),
            "unknown notificationType `Received`"
        );
        let n = parse(r#"{"notificationType": "Bounce", "mail": {}}"#);
        assert_eq!(
            n.changes().unwrap_err().to_string(),
            "malformed notification: a Bounce notification without `bounce`"
        );
        let n = parse(
            r#"{"notificationType": "Delivery", "delivery": {"timestamp": "2016-01-27T14:59:38Z", "recipients": [" "]}}"#,
        );
        assert!(matches!(n.changes(), Err(NotificationError::Malformed(_))));
        let n = parse(
            r#"{"notificationType": "Delivery", "delivery": {"timestamp": "last week", "recipients": ["a@example.com"]}}"#,
        );
        assert!(matches!(n.changes(), Err(NotificationError::Malformed(_))));
    }

    #[test]
    fn an_address_listed_twice_is_written_once() {
        let n = parse(
            r#"{"notificationType": "Delivery", "delivery": {"timestamp": "2016-01-27T14:59:38Z",
                "recipients": ["a@example.com", "b@example.com", "a@example.com"]}}"#,
        );
        assert_eq!(n.changes().unwrap().len(), 2);
    }
}
