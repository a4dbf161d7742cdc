//! The SNS handler and the API against a real DynamoDB API (moto), through
//! the test client: real SNS events (`lambada::test::events::sns` around
//! the SES messages in `tests/data/`) dispatched on the code path of the
//! Lambda runtime, in process. Each test has its own `moto_server`.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use lambada::EventKind;
use lambada::test::{Client, TestResponse, TriggerClient, events};
use lambada::trigger::TriggerError;
use lambada_test_support::Moto;
use serde_json::{Value, json};
use ses_mailing::Mailing;

const TABLE: &str = "mailing";
const TOPIC: &str = "ses-notifications";

/// An SES message from `tests/data/`, as text.
fn message(name: &str) -> String {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// An SES message from `tests/data/` with some of its fields replaced
/// (JSON pointer → value).
fn edited(name: &str, edits: &[(&str, Value)]) -> String {
    let mut v: Value = serde_json::from_str(&message(name)).unwrap();
    for (pointer, value) in edits {
        *v.pointer_mut(pointer)
            .unwrap_or_else(|| panic!("{name} has no {pointer}")) = value.clone();
    }
    v.to_string()
}

/// A whole event from `tests/data/`.
fn event(name: &str) -> Value {
    serde_json::from_str(&message(name)).unwrap()
}

struct App {
    _moto: Moto,
    db: aws_sdk_dynamodb::Client,
    api: Client,
    sns: TriggerClient,
}

impl App {
    /// moto with an empty `mailing` table, and the app on it.
    async fn start() -> App {
        let moto = Moto::start();
        moto.create_table_with_key(TABLE, "UserId").await;
        let db = moto.dynamodb();
        let api = Client::new(ses_mailing::app(Mailing::new(db.clone(), TABLE)));
        let sns = api.trigger("on_ses_notification");
        App {
            _moto: moto,
            db,
            api,
            sns,
        }
    }

    /// Publishes SES messages as one SNS event (one record each).
    async fn publish(&self, messages: &[&str]) -> Result<Value, TriggerError> {
        self.sns.send(&events::sns(TOPIC, messages)).await
    }

    /// Publishes one message, which must succeed.
    async fn publish_ok(&self, message: &str) {
        let res = self.publish(&[message]).await;
        assert_eq!(res, Ok(Value::Null), "{message}");
    }

    /// The item of `address`, as DynamoDB holds it.
    async fn item(&self, address: &str) -> Option<HashMap<String, AttributeValue>> {
        self.db
            .get_item()
            .table_name(TABLE)
            .key("UserId", AttributeValue::S(address.into()))
            .send()
            .await
            .unwrap()
            .item
    }

    /// How many items the table holds.
    async fn count(&self) -> i32 {
        self.db
            .scan()
            .table_name(TABLE)
            .send()
            .await
            .unwrap()
            .count()
    }

    /// `GET /mailing/<address>`, which must answer 200 with JSON.
    async fn state(&self, address: &str) -> Value {
        let res = self.api.get(&format!("/mailing/{address}")).send().await;
        assert_eq!(res.status(), 200, "{address}: {}", res.text());
        assert_eq!(res.header("content-type"), Some("application/json"));
        res.json()
    }

    /// `GET /mailing/<address>`, which must answer 404.
    async fn unknown(&self, address: &str) {
        let res = self.api.get(&format!("/mailing/{address}")).send().await;
        assert_not_found(&res, address);
    }
}

fn assert_not_found(res: &TestResponse, address: &str) {
    assert_eq!(res.status(), 404, "{address}: {}", res.text());
    assert_eq!(res.header("content-type"), Some("application/problem+json"));
    let problem: Value = res.json();
    assert_eq!(problem["status"], 404);
    assert_eq!(problem["title"], "Not Found");
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

#[tokio::test]
async fn the_articles_complaint_disables_its_address() {
    let app = App::start().await;
    app.publish_ok(&message("complaint-article.json")).await;

    // The article's attributes, and what orders the writes.
    let item = app.item("recipient1@example.com").await.expect("the item");
    let expected = HashMap::from([
        ("UserId".to_owned(), s("recipient1@example.com")),
        ("state".to_owned(), s("disable")),
        ("LastEvent".to_owned(), s("2012-05-25T21:59:38.623Z")),
        ("notificationType".to_owned(), s("Complaint")),
        ("from".to_owned(), s("email_1337983178623@amazon.com")),
        ("timestamp".to_owned(), s("2012-05-25T14:59:38.623-07:00")),
        (
            "messageId".to_owned(),
            s("000001378603177f-7a5433e7-8edb-42ae-af10-f0181f34d6ee-000000"),
        ),
        ("complaintFeedbackType".to_owned(), s("abuse")),
    ]);
    assert_eq!(item, expected);
    assert_eq!(app.count().await, 1, "only the complaining address");

    // The API shows it, with the address encoded or not.
    let expected_json = json!({
        "UserId": "recipient1@example.com",
        "state": "disable",
        "LastEvent": "2012-05-25T21:59:38.623Z",
        "notificationType": "Complaint",
        "from": "email_1337983178623@amazon.com",
        "timestamp": "2012-05-25T14:59:38.623-07:00",
        "messageId": "000001378603177f-7a5433e7-8edb-42ae-af10-f0181f34d6ee-000000",
        "complaintFeedbackType": "abuse"
    });
    assert_eq!(app.state("recipient1@example.com").await, expected_json);
    assert_eq!(app.state("recipient1%40example.com").await, expected_json);
    // The other destinations of the mail did not complain.
    app.unknown("recipient2@example.com").await;

    // SNS delivers at least once: the same notification again is skipped,
    // and is no error.
    app.publish_ok(&message("complaint-article.json")).await;
    assert_eq!(app.item("recipient1@example.com").await.unwrap(), expected);
}

#[tokio::test]
async fn aws_samples_permanent_bounces_disable_deliveries_enable() {
    let app = App::start().await;

    // AWS's bounce with a DSN: jane is disabled, with the bounce's details.
    app.publish_ok(&message("bounce-permanent.json")).await;
    let jane = app.state("jane@example.com").await;
    assert_eq!(jane["state"], "disable");
    assert_eq!(jane["notificationType"], "Bounce");
    assert_eq!(jane["LastEvent"], "2016-01-27T14:59:38.237Z");
    assert_eq!(jane["bounceType"], "Permanent");
    assert_eq!(jane["bounceSubType"], "General");
    assert_eq!(
        jane["diagnosticCode"],
        "smtp; 550 5.1.1 <jane@example.com>... User unknown"
    );
    assert_eq!(jane["from"], "john@example.com");
    // mary and richard were destinations, but did not bounce.
    app.unknown("mary@example.com").await;
    app.unknown("richard@example.com").await;

    // AWS's bounce without a DSN names two addresses: both disabled, no
    // diagnostic code. For jane it is the same moment as the first bounce:
    // skipped, the item keeps the first one's diagnostic.
    app.publish_ok(&message("bounce-no-dsn.json")).await;
    let richard = app.state("richard@example.com").await;
    assert_eq!(richard["state"], "disable");
    assert_eq!(richard["bounceType"], "Permanent");
    assert_eq!(richard.get("diagnosticCode"), None);
    assert_eq!(app.state("jane@example.com").await, jane);

    // A later delivery (AWS's delivery sample, an hour on) enables jane and
    // mary, and leaves no bounce detail behind on jane.
    let delivery = edited(
        "delivery.json",
        &[("/delivery/timestamp", json!("2016-01-27T15:59:38.864Z"))],
    );
    app.publish_ok(&delivery).await;
    for address in ["jane@example.com", "mary@example.com"] {
        let state = app.state(address).await;
        assert_eq!(
            state,
            json!({
                "UserId": address,
                "state": "enable",
                "LastEvent": "2016-01-27T15:59:38.864Z",
                "notificationType": "Delivery",
                "from": "john@example.com",
                "timestamp": "2016-01-27T14:59:38.237Z",
                "messageId": "0000014644fe5ef6-9a483358-9170-4cb4-a269-f5dcdf415321-000000"
            }),
            "{address}"
        );
    }
    // richard was not a recipient of that delivery.
    assert_eq!(app.state("richard@example.com").await["state"], "disable");
}

#[tokio::test]
async fn an_older_notification_arriving_late_is_skipped() {
    let app = App::start().await;
    // The delivery happened at 14:59:38.864 and the bounce at 14:59:38.237,
    // but SNS brings the delivery first (SES makes no ordering promise).
    app.publish_ok(&message("delivery.json")).await;
    app.publish_ok(&message("bounce-permanent.json")).await;
    let jane = app.state("jane@example.com").await;
    assert_eq!(jane["state"], "enable", "{jane}");
    assert_eq!(jane["notificationType"], "Delivery");
    assert_eq!(jane["LastEvent"], "2016-01-27T14:59:38.864Z");
    assert_eq!(jane.get("bounceType"), None);

    // In one batch, in that order, the same.
    let app = App::start().await;
    let res = app
        .publish(&[&message("delivery.json"), &message("bounce-permanent.json")])
        .await;
    assert_eq!(res, Ok(Value::Null));
    assert_eq!(app.state("jane@example.com").await["state"], "enable");

    // The other way round, the bounce is older and the delivery wins too:
    // the times decide, not the arrival.
    let app = App::start().await;
    app.publish_ok(&message("bounce-permanent.json")).await;
    app.publish_ok(&message("delivery.json")).await;
    assert_eq!(app.state("jane@example.com").await["state"], "enable");

    // Offsets are compared as instants: 14:59:38.623-07:00 is 21:59 UTC,
    // later than a delivery at 21:00 UTC the same day.
    let app = App::start().await;
    let delivery = edited(
        "delivery.json",
        &[
            ("/delivery/timestamp", json!("2012-05-25T21:00:00.000Z")),
            ("/delivery/recipients", json!(["recipient1@example.com"])),
        ],
    );
    app.publish_ok(&message("complaint-article.json")).await;
    app.publish_ok(&delivery).await;
    assert_eq!(
        app.state("recipient1@example.com").await["state"],
        "disable"
    );
}

#[tokio::test]
async fn transient_bounces_are_recorded_without_disabling() {
    let app = App::start().await;
    // A full mailbox: recorded; the address, new to the table, is enabled.
    app.publish_ok(&message("bounce-transient.json")).await;
    assert_eq!(
        app.state("richard@example.com").await,
        json!({
            "UserId": "richard@example.com",
            "state": "enable",
            "transientBounceAt": "2016-01-27T15:01:12.418Z",
            "transientBounceType": "Transient",
            "transientBounceSubType": "MailboxFull"
        })
    );

    // The permanent bounce from earlier that day still disables: transient
    // bounces are on their own clock.
    app.publish_ok(&message("bounce-no-dsn.json")).await;
    let richard = app.state("richard@example.com").await;
    assert_eq!(richard["state"], "disable");
    assert_eq!(richard["LastEvent"], "2016-01-27T14:59:38.237Z");
    assert_eq!(richard["transientBounceAt"], "2016-01-27T15:01:12.418Z");

    // A newer transient bounce is recorded, and does not enable again.
    let later = edited(
        "bounce-transient.json",
        &[
            ("/bounce/timestamp", json!("2016-01-28T09:00:00.000Z")),
            ("/bounce/bounceType", json!("Undetermined")),
            ("/bounce/bounceSubType", json!("Undetermined")),
        ],
    );
    app.publish_ok(&later).await;
    let richard = app.state("richard@example.com").await;
    assert_eq!(richard["state"], "disable");
    assert_eq!(richard["transientBounceAt"], "2016-01-28T09:00:00.000Z");
    assert_eq!(richard["transientBounceType"], "Undetermined");

    // An older transient bounce changes nothing.
    app.publish_ok(&message("bounce-transient.json")).await;
    assert_eq!(app.state("richard@example.com").await, richard);
}

#[tokio::test]
async fn every_record_of_a_batch_is_handled() {
    let app = App::start().await;
    let complaint = message("complaint-article.json");
    let bounce = message("bounce-no-dsn.json");
    let delivery = edited(
        "delivery.json",
        &[("/delivery/recipients", json!(["mary@example.com"]))],
    );
    let subscribed = message("subscription-succeeded.json");
    let res = app
        .publish(&[&complaint, &bounce, &delivery, &subscribed])
        .await;
    assert_eq!(res, Ok(Value::Null));
    assert_eq!(app.count().await, 4);
    for (address, state) in [
        ("recipient1@example.com", "disable"),
        ("jane@example.com", "disable"),
        ("richard@example.com", "disable"),
        ("mary@example.com", "enable"),
    ] {
        assert_eq!(app.state(address).await["state"], state, "{address}");
    }
}

#[tokio::test]
async fn a_failing_record_fails_the_invocation_not_the_others() {
    let app = App::start().await;
    let unknown = edited(
        "delivery.json",
        &[("/notificationType", json!("DeliveryDelay"))],
    );
    let batch = [
        message("complaint-article.json"),
        unknown,
        message("bounce-permanent.json"),
    ];
    let batch: Vec<&str> = batch.iter().map(String::as_str).collect();
    let err = app.publish(&batch).await.unwrap_err();
    assert_eq!(err.error_type, "Lambada.HandlerFailed");
    assert!(
        err.message
            .contains("unknown notificationType `DeliveryDelay`"),
        "{err:?}"
    );
    assert!(
        err.message.starts_with("1 of the records failed"),
        "{err:?}"
    );
    // The records around it were applied.
    assert_eq!(
        app.state("recipient1@example.com").await["state"],
        "disable"
    );
    assert_eq!(app.state("jane@example.com").await["state"], "disable");
    assert_eq!(app.count().await, 2);

    // Lambda retries the whole event: the same error, and the records
    // already applied are skipped (nothing changes).
    let before = app.item("jane@example.com").await;
    assert_eq!(app.publish(&batch).await.unwrap_err(), err);
    assert_eq!(app.item("jane@example.com").await, before);
    assert_eq!(app.count().await, 2);
}

#[tokio::test]
async fn unknown_types_are_function_errors_and_write_nothing() {
    let app = App::start().await;
    // What SES's receipt rules publish with an SNS action: the wrong topic
    // for this function.
    let mut received = event("ses-receipt-event.json")["Records"][0]["ses"].clone();
    received["notificationType"] = json!("Received");
    let err = app.publish(&[&received.to_string()]).await.unwrap_err();
    assert_eq!(err.error_type, "Lambada.HandlerFailed");
    assert!(
        err.message.ends_with("unknown notificationType `Received`"),
        "{err:?}"
    );
    assert_eq!(app.count().await, 0);

    // SES's own test message when the topic is set up is no error.
    app.publish_ok(&message("subscription-succeeded.json"))
        .await;
    assert_eq!(app.count().await, 0);
}

#[tokio::test]
async fn malformed_messages_are_function_errors_and_write_nothing() {
    let app = App::start().await;
    let cases = [
        (
            "not JSON",
            "Notification for jane@example.com: bounced".to_owned(),
            "cannot decode it as JSON",
        ),
        (
            "cut short",
            message("bounce-permanent.json")[..200].to_owned(),
            "cannot decode it as JSON",
        ),
        (
            "no type",
            r#"{"mail": {}}"#.to_owned(),
            "missing field `notificationType`",
        ),
        (
            "no bounce object",
            r#"{"notificationType": "Bounce", "mail": {"timestamp": "2016-01-27T14:59:38.237Z"}}"#
                .to_owned(),
            "a Bounce notification without `bounce`",
        ),
        (
            "bad time",
            edited(
                "bounce-permanent.json",
                &[("/bounce/timestamp", json!("27/01/2016"))],
            ),
            "timestamp `27/01/2016`",
        ),
    ];
    for (what, text, why) in cases {
        let err = app.publish(&[&text]).await.unwrap_err();
        assert_eq!(err.error_type, "Lambada.HandlerFailed", "{what}");
        assert!(err.message.contains(why), "{what}: {err:?}");
    }
    assert_eq!(app.count().await, 0);
}

#[tokio::test]
async fn a_recorded_sns_event_and_a_wrong_event() {
    let app = App::start().await;
    // An SNS event as Lambda delivers it, SES's bounce inside.
    let res = app.sns.send(&event("sns-ses-bounce-event.json")).await;
    assert_eq!(res, Ok(Value::Null));
    let jane = app.state("jane@example.com").await;
    assert_eq!(jane["state"], "disable");
    assert_eq!(jane["LastEvent"], "2024-11-21T20:18:58.123Z");
    assert_eq!(jane["from"], "\"Example Shop\" <orders@example.com>");

    // An SES receipt event (a receipt rule invoking Lambda directly) is no
    // SNS event at all.
    let err = app
        .sns
        .send(&event("ses-receipt-event.json"))
        .await
        .unwrap_err();
    assert_eq!(err.error_type, "Lambada.InvalidEvent");
    assert_eq!(app.count().await, 1);
}

#[tokio::test]
async fn the_api_in_every_event_kind() {
    let app = App::start().await;
    let plus = edited(
        "complaint-article.json",
        &[(
            "/complaint/complainedRecipients/0/emailAddress",
            json!("jane+news@example.com"),
        )],
    );
    app.publish_ok(&plus).await;
    for kind in EventKind::LAMBDA {
        for path in [
            "/mailing/jane+news@example.com",
            "/mailing/jane%2Bnews%40example.com",
        ] {
            let res = app.api.get(path).kind(kind).send().await;
            assert_eq!(res.status(), 200, "{kind:?} {path}: {}", res.text());
            let state: Value = res.json();
            assert_eq!(state["UserId"], "jane+news@example.com", "{kind:?}");
            assert_eq!(state["state"], "disable", "{kind:?}");
        }
        for unknown in [
            "/mailing/nobody@example.com",
            "/mailing/not-an-address",
            &format!("/mailing/{}@example.com", "x".repeat(400)),
        ] {
            let res = app.api.get(unknown).kind(kind).send().await;
            assert_not_found(&res, unknown);
        }
        let res = app
            .api
            .get("/mailing/nobody@example.com")
            .kind(kind)
            .send()
            .await;
        let problem: Value = res.json();
        assert_eq!(
            problem["detail"],
            "no notification for `nobody@example.com`"
        );
        let res = app
            .api
            .post("/mailing/jane@example.com")
            .kind(kind)
            .send()
            .await;
        assert_eq!(res.status(), 405, "{kind:?}");
    }
}

#[tokio::test]
async fn dynamodb_failures_are_errors() {
    let moto = Moto::start();
    // No table: every write and read fails.
    let api = Client::new(ses_mailing::app(Mailing::new(moto.dynamodb(), "missing")));
    let sns = api.trigger("on_ses_notification");
    let err = sns
        .send(&events::sns(TOPIC, &[&message("bounce-no-dsn.json")]))
        .await
        .unwrap_err();
    assert_eq!(err.error_type, "Lambada.HandlerFailed");
    assert!(err.message.contains("2 write(s) failed"), "{err:?}");
    assert!(
        err.message.contains("jane@example.com: DynamoDB:"),
        "{err:?}"
    );
    assert!(err.message.contains("ResourceNotFoundException"), "{err:?}");

    // The API answers a bare 500: the cause is logged, not sent.
    let res = api.get("/mailing/jane@example.com").send().await;
    assert_eq!(res.status(), 500);
    let problem: Value = res.json();
    assert_eq!(
        problem,
        json!({"status": 500, "title": "Internal Server Error"})
    );
}
