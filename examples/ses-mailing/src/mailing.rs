//! The mailing table in DynamoDB: one item per address, written only by
//! conditional updates, so that the newest notification wins whatever
//! order they arrive in.
//!
//! | attribute | type | what |
//! |---|---|---|
//! | `UserId` | S, partition key | the address, as SES reports it |
//! | `state` | S | `enable` or `disable` |
//! | `LastEvent` | S | when the notification that set `state` happened (UTC, milliseconds): the write condition |
//! | `notificationType` | S | that notification's type: `Bounce`, `Complaint`, `Delivery` |
//! | `from` | S | its `mail.source` |
//! | `timestamp` | S | its `mail.timestamp`, as sent (when the mail was sent) |
//! | `messageId` | S | its `mail.messageId` |
//! | `bounceType`, `bounceSubType`, `diagnosticCode` | S | for a bounce (removed by other notifications) |
//! | `complaintFeedbackType` | S | for a complaint, when the ISP gave one |
//! | `transientBounceAt` | S | the latest transient or undetermined bounce (UTC, milliseconds) |
//! | `transientBounceType`, `transientBounceSubType` | S | its type and subtype |
//!
//! `UserId`, `notificationType`, `from`, `timestamp` and `state` are the
//! article's attributes, with its values `enable` and `disable`.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use crate::notification::{Action, Change};

/// Whether mail may be sent to an address: the `state` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// `enable`: send.
    Enable,
    /// `disable`: do not send (a permanent bounce or a complaint).
    Disable,
}

impl Status {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Enable => "enable",
            Status::Disable => "disable",
        }
    }
}

/// One address's item, as `GET /mailing/<email>` answers it: the table's
/// attribute names, absent attributes left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscriber {
    /// `UserId`: the address.
    #[serde(rename = "UserId")]
    pub address: String,
    /// `state`.
    pub state: Status,
    /// `LastEvent`: when the notification that set `state` happened.
    #[serde(rename = "LastEvent", default, skip_serializing_if = "Option::is_none")]
    pub last_event: Option<String>,
    /// That notification's type.
    #[serde(
        rename = "notificationType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub notification_type: Option<String>,
    /// Its `mail.source`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Its `mail.timestamp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Its `mail.messageId`.
    #[serde(rename = "messageId", default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Its bounce type.
    #[serde(
        rename = "bounceType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub bounce_type: Option<String>,
    /// Its bounce subtype.
    #[serde(
        rename = "bounceSubType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub bounce_sub_type: Option<String>,
    /// The receiving server's reply to the bounced mail.
    #[serde(
        rename = "diagnosticCode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub diagnostic_code: Option<String>,
    /// The complaint's feedback type.
    #[serde(
        rename = "complaintFeedbackType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub complaint_feedback_type: Option<String>,
    /// When the latest transient (or undetermined) bounce happened.
    #[serde(
        rename = "transientBounceAt",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub transient_bounce_at: Option<String>,
    /// Its type: `Transient` or `Undetermined`.
    #[serde(
        rename = "transientBounceType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub transient_bounce_type: Option<String>,
    /// Its subtype (`MailboxFull`, …).
    #[serde(
        rename = "transientBounceSubType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub transient_bounce_sub_type: Option<String>,
}

impl Subscriber {
    fn from_item(item: &HashMap<String, AttributeValue>) -> Result<Subscriber, StoreError> {
        // The item's string attributes as a JSON object, read by serde with
        // the names above.
        let object: serde_json::Map<String, serde_json::Value> = item
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_s().ok()?.clone().into())))
            .collect();
        serde_json::from_value(object.into())
            .map_err(|e| StoreError(format!("a malformed item: {e}")))
    }
}

/// What a conditional write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The item was written.
    Written,
    /// The item holds a newer (or the same) notification: nothing written.
    /// A late notification, or SNS delivering one twice.
    Stale,
}

/// DynamoDB failed (throttled, unreachable, no such table): the
/// notification fails and is retried; a 500 for the API.
#[derive(Debug, Clone, lambada::HttpError)]
#[status(INTERNAL_SERVER_ERROR)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DynamoDB: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

impl<E, R> From<SdkError<E, R>> for StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    fn from(e: SdkError<E, R>) -> Self {
        StoreError(DisplayErrorContext(&e).to_string())
    }
}

/// An `UpdateItem` expression: `SET #a = :a, … REMOVE #b, …`, each
/// attribute under its own name placeholder (`from`, `state` and
/// `timestamp` are DynamoDB reserved words).
#[derive(Debug, Default)]
struct Update {
    set: Vec<String>,
    remove: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Update {
    fn name(&mut self, attr: &str) -> String {
        let placeholder = format!("#{attr}");
        self.names.insert(placeholder.clone(), attr.to_owned());
        placeholder
    }

    fn value(&mut self, attr: &str, value: &str) -> String {
        let placeholder = format!(":{attr}");
        self.values
            .insert(placeholder.clone(), AttributeValue::S(value.to_owned()));
        placeholder
    }

    fn set(&mut self, attr: &str, value: &str) {
        let (n, v) = (self.name(attr), self.value(attr, value));
        self.set.push(format!("{n} = {v}"));
    }

    /// Sets the attribute when there is a value, removes it otherwise (so
    /// no detail of an older notification is left behind).
    fn set_or_remove(&mut self, attr: &str, value: Option<&str>) {
        match value {
            Some(v) => self.set(attr, v),
            None => {
                let n = self.name(attr);
                self.remove.push(n);
            }
        }
    }

    fn set_if_absent(&mut self, attr: &str, value: &str) {
        let (n, v) = (self.name(attr), self.value(attr, value));
        self.set.push(format!("{n} = if_not_exists({n}, {v})"));
    }

    /// `attribute_not_exists(#attr) OR #attr < :attr`, for an attribute
    /// this update sets.
    fn older_than_set(&mut self, attr: &str) -> String {
        let n = self.name(attr);
        format!("attribute_not_exists({n}) OR {n} < :{attr}")
    }

    fn expression(&self) -> String {
        let mut e = format!("SET {}", self.set.join(", "));
        if !self.remove.is_empty() {
            e.push_str(&format!(" REMOVE {}", self.remove.join(", ")));
        }
        e
    }
}

/// The mailing table: a DynamoDB client, built once per cold start and
/// shared by every invocation as `State<Mailing>`.
#[derive(Debug, Clone)]
pub struct Mailing {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl Mailing {
    /// The table `table` through `client`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Mailing {
        Mailing {
            client,
            table: table.into(),
        }
    }

    /// The table named by `MAILING_TABLE` (default `mailing`), with the AWS
    /// configuration of the environment: the credential chain (the
    /// function's role under Lambda), `AWS_REGION`, and `AWS_ENDPOINT_URL`
    /// for DynamoDB Local or moto.
    pub async fn from_env() -> Mailing {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let table = std::env::var("MAILING_TABLE")
            .ok()
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "mailing".into());
        Mailing::new(aws_sdk_dynamodb::Client::new(&config), table)
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Applies one change with one conditional `UpdateItem`, so that there
    /// is no window between a read and a write:
    ///
    /// - enable / disable: sets `state` and the notification's details
    ///   when the item has no `LastEvent` yet or an older one;
    /// - a transient bounce: sets the `transientBounce*` attributes when
    ///   the stored one is older, and `state` to `enable` only when the
    ///   address has no state yet.
    ///
    /// Equal times are stale too, so a notification SNS delivers twice is
    /// written once.
    pub async fn apply(&self, change: &Change) -> Result<Applied, StoreError> {
        let mut u = Update::default();
        let condition = match change.action {
            Action::Enable | Action::Disable => {
                let state = if change.action == Action::Enable {
                    Status::Enable
                } else {
                    Status::Disable
                };
                u.set("state", state.as_str());
                u.set("LastEvent", &change.at);
                u.set("notificationType", change.notification_type);
                u.set_or_remove("from", change.from.as_deref());
                u.set_or_remove("timestamp", change.sent.as_deref());
                u.set_or_remove("messageId", change.message_id.as_deref());
                u.set_or_remove("bounceType", change.bounce_type.as_deref());
                u.set_or_remove("bounceSubType", change.bounce_sub_type.as_deref());
                u.set_or_remove("diagnosticCode", change.diagnostic_code.as_deref());
                u.set_or_remove(
                    "complaintFeedbackType",
                    change.complaint_feedback_type.as_deref(),
                );
                u.older_than_set("LastEvent")
            }
            Action::RecordTransient => {
                u.set("transientBounceAt", &change.at);
                u.set_or_remove("transientBounceType", change.bounce_type.as_deref());
                u.set_or_remove("transientBounceSubType", change.bounce_sub_type.as_deref());
                u.set_if_absent("state", Status::Enable.as_str());
                u.older_than_set("transientBounceAt")
            }
        };
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("UserId", AttributeValue::S(change.address.clone()))
            .update_expression(u.expression())
            .condition_expression(condition)
            .set_expression_attribute_names(Some(u.names))
            .set_expression_attribute_values(Some(u.values))
            .send()
            .await;
        match res {
            Ok(_) => Ok(Applied::Written),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(Applied::Stale)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The item of `address`, if any (a strongly consistent read).
    pub async fn get(&self, address: &str) -> Result<Option<Subscriber>, StoreError> {
        let res = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("UserId", AttributeValue::S(address.to_owned()))
            .consistent_read(true)
            .send()
            .await?;
        res.item.as_ref().map(Subscriber::from_item).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_expressions_name_every_attribute() {
        let mut u = Update::default();
        u.set("state", "disable");
        u.set("LastEvent", "2016-01-27T14:59:38.237Z");
        u.set_or_remove("from", Some("john@example.com"));
        u.set_or_remove("bounceType", None);
        u.set_if_absent("other", "x");
        let condition = u.older_than_set("LastEvent");
        assert_eq!(
            u.expression(),
            "SET #state = :state, #LastEvent = :LastEvent, #from = :from, \
             #other = if_not_exists(#other, :other) REMOVE #bounceType"
        );
        assert_eq!(
            condition,
            "attribute_not_exists(#LastEvent) OR #LastEvent < :LastEvent"
        );
        assert_eq!(u.names.len(), 5);
        assert_eq!(u.names["#bounceType"], "bounceType");
        assert_eq!(u.values.len(), 4);
        assert!(!u.values.contains_key(":bounceType"));
    }

    #[test]
    fn items_read_back_with_the_table_names() {
        let item = HashMap::from([
            (
                "UserId".to_owned(),
                AttributeValue::S("jane@example.com".into()),
            ),
            ("state".to_owned(), AttributeValue::S("disable".into())),
            (
                "LastEvent".to_owned(),
                AttributeValue::S("2016-01-27T14:59:38.237Z".into()),
            ),
            (
                "bounceType".to_owned(),
                AttributeValue::S("Permanent".into()),
            ),
            ("unknown".to_owned(), AttributeValue::N("1".into())),
        ]);
        let s = Subscriber::from_item(&item).unwrap();
        assert_eq!(s.address, "jane@example.com");
        assert_eq!(s.state, Status::Disable);
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            serde_json::json!({
                "UserId": "jane@example.com",
                "state": "disable",
                "LastEvent": "2016-01-27T14:59:38.237Z",
                "bounceType": "Permanent"
            })
        );
        let bad = HashMap::from([("UserId".to_owned(), AttributeValue::S("x".into()))]);
        assert!(Subscriber::from_item(&bad).is_err());
    }
}
