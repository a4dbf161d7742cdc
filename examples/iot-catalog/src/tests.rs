//! What needs no DynamoDB: the request checks, the error statuses, and the
//! 400s of malformed bodies in every event kind (a malformed request never
//! reaches the table: the catalog here points at a closed port).

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use lambada::EventKind;
use lambada::test::Client;
use serde_json::{Value, json};

use super::*;

fn offline_catalog() -> Catalog {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url("http://127.0.0.1:1")
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("x", "x", None, None, "test"))
        .build();
    Catalog::new(aws_sdk_dynamodb::Client::from_conf(config), "iotCatalog")
}

fn valid() -> Value {
    json!({
        "clientId": "ID-91B2F06B3F05",
        "serialNumber": "SN-D7F3C8947867",
        "activationCode": "AC-9BE75CD0F1543D44C9AB",
        "email": "verified@registered.iot"
    })
}

#[test]
fn the_articles_request_parses() {
    let req = ActivationRequest::parse(valid()).unwrap();
    assert_eq!(req.serial_number, "SN-D7F3C8947867");
    assert_eq!(req.client_id, "ID-91B2F06B3F05");
    assert_eq!(req.activation_code, "AC-9BE75CD0F1543D44C9AB");
    assert_eq!(req.email, "verified@registered.iot");
}

#[test]
fn emails() {
    for ok in [
        "verified@registered.iot",
        "a@b",
        "first.last+tag@sub.example.com",
    ] {
        assert_eq!(check_email(ok), Ok(()), "{ok}");
    }
    let long = format!("{}@example.com", "a".repeat(250));
    for bad in [
        "",
        "no-at-sign",
        "@example.com",
        "someone@",
        "a@b@c",
        "a b@example.com",
        "a@example..com",
        "a@.example.com",
        "a@example.com.",
        "a@exa\nmple.com",
        long.as_str(),
    ] {
        assert!(check_email(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn ids() {
    assert_eq!(check_id("serialNumber", "SN-D7F3C8947867"), Ok(()));
    assert_eq!(check_id("x", &"A".repeat(MAX_ID_LEN)), Ok(()));
    for bad in ["", " ", "SN 1", "SN-\u{e9}", "SN-1\t"] {
        assert!(check_id("serialNumber", bad).is_err(), "{bad:?}");
    }
    let err = check_id("clientId", &"A".repeat(MAX_ID_LEN + 1)).unwrap_err();
    assert!(err.contains("clientId"), "{err}");
}

#[test]
fn error_statuses_and_messages() {
    let cases = [
        (ActivateError::Malformed("`email` is empty".into()), 400),
        (ActivateError::InvalidCode, 403),
        (
            ActivateError::UnknownDevice {
                serial_number: "SN-1".into(),
                client_id: "ID-1".into(),
            },
            404,
        ),
        (
            ActivateError::AlreadyActivated {
                serial_number: "SN-1".into(),
                client_id: "ID-1".into(),
            },
            409,
        ),
        (ActivateError::Store(StoreError("down".into())), 500),
    ];
    for (err, status) in cases {
        assert_eq!(lambada::HttpError::status(&err).as_u16(), status, "{err}");
    }
    assert_eq!(
        ActivateError::InvalidCode.to_string(),
        "Activation Code Invalid"
    );
}

/// Every way a body can be wrong is a 400 problem document naming the
/// problem, in every event kind; a body that is not JSON at all by its
/// content type is the framework's 415.
#[tokio::test]
async fn malformed_bodies_are_400s() {
    let client = Client::new(app(offline_catalog()));
    let mut without_email = valid();
    without_email.as_object_mut().unwrap().remove("email");
    let mut cases = vec![
        (json!([1, 2]), "invalid activation request"),
        (json!("SN-D7F3C8947867"), "invalid activation request"),
        (without_email, "email"),
    ];
    for (field, value, why) in [
        ("serialNumber", json!(""), "serialNumber"),
        ("clientId", json!(42), "invalid activation request"),
        ("activationCode", json!(null), "invalid activation request"),
        ("activationCode", json!("AC 1"), "activationCode"),
        ("email", json!("not an address"), "email"),
        ("email", json!("nobody@"), "email"),
    ] {
        let mut body = valid();
        body[field] = value;
        cases.push((body, why));
    }
    for kind in EventKind::LAMBDA {
        for (body, why) in &cases {
            let res = client
                .post("/devices/activate")
                .json(body)
                .kind(kind)
                .send()
                .await;
            assert_eq!(res.status(), 400, "{kind:?} {body}: {}", res.text());
            assert_eq!(res.header("content-type"), Some("application/problem+json"));
            let detail = res.json::<Value>()["detail"].as_str().unwrap().to_owned();
            assert!(detail.contains(why), "{kind:?} {body}: {detail}");
        }
        // Not JSON, though it says so.
        let res = client
            .post("/devices/activate")
            .body("{\"serialNumber\": ")
            .header("content-type", "application/json")
            .kind(kind)
            .send()
            .await;
        assert_eq!(res.status(), 400, "{kind:?}: {}", res.text());
        let res = client
            .post("/devices/activate")
            .body("serialNumber=SN-1")
            .header("content-type", "application/x-www-form-urlencoded")
            .kind(kind)
            .send()
            .await;
        assert_eq!(res.status(), 415, "{kind:?}");
    }
}

/// A registration that DynamoDB would refuse never leaves the function.
#[tokio::test]
async fn registrations_with_empty_keys_are_function_errors() {
    let client = Client::new(app(offline_catalog())).trigger("register");
    let device = json!({
        "serialNumber": "",
        "clientId": "ID-91B2F06B3F05",
        "device": "myThing1",
        "endpoint": "example.iot.us-east-1.amazonaws.com",
        "type": "MySmartIoTDevice",
        "activationCode": "AC-9BE75CD0F1543D44C9AB"
    });
    let err = client.send(&device).await.unwrap_err();
    assert_eq!(err.error_type, "RegisterError");
    assert_eq!(err.message, "invalid registration: `serialNumber` is empty");
    // Not a device at all: the framework's decoding error.
    let err = client
        .send(&json!({"serialNumber": "SN-1"}))
        .await
        .unwrap_err();
    assert_eq!(err.error_type, "Lambada.InvalidPayload");
    assert!(err.message.contains("clientId"), "{err}");
}
