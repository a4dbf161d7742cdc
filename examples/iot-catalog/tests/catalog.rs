//! Registration and activation against a real DynamoDB API (moto): the
//! `register` handler through the trigger test client (what the IoT rule's
//! invocation runs), `POST /devices/activate` through the HTTP test client
//! in every event kind Lambda delivers. Each test has its own moto.

mod common;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use common::{TABLE, catalog, device};
use iot_catalog::provision::Fleet;
use iot_catalog::{ACTIVATED, ActivateReply, Catalog, Device, Registration};
use lambada::EventKind;
use lambada::test::{Client, TestResponse};
use lambada_test_support::Moto;
use serde_json::{Value, json};

fn http(catalog: &Catalog) -> Client {
    Client::new(iot_catalog::app(catalog.clone()))
}

fn trigger(catalog: &Catalog) -> lambada::test::TriggerClient {
    http(catalog).trigger("register")
}

async fn activate(
    client: &Client,
    kind: EventKind,
    reg: &Registration,
    code: &str,
    email: &str,
) -> TestResponse {
    client
        .post("/devices/activate")
        .json(&json!({
            "clientId": reg.client_id,
            "serialNumber": reg.serial_number,
            "activationCode": code,
            "email": email,
        }))
        .kind(kind)
        .send()
        .await
}

fn problem(res: &TestResponse) -> Value {
    assert_eq!(
        res.header("content-type"),
        Some("application/problem+json"),
        "{}",
        res.text()
    );
    res.json()
}

async fn stored(catalog: &Catalog, reg: &Registration) -> Option<Device> {
    catalog
        .get(&reg.serial_number, &reg.client_id)
        .await
        .unwrap()
}

async fn raw_item(moto: &Moto, reg: &Registration) -> HashMap<String, AttributeValue> {
    moto.dynamodb()
        .get_item()
        .table_name(TABLE)
        .key("serialNumber", AttributeValue::S(reg.serial_number.clone()))
        .key("clientId", AttributeValue::S(reg.client_id.clone()))
        .send()
        .await
        .unwrap()
        .item
        .expect("the item")
}

/// The article's payload (with its `activated: "false"` and placeholder
/// email, both ignored) is stored inactive, without owner, with the
/// documented schema.
#[tokio::test]
async fn registration_stores_an_inactive_device() {
    let (moto, catalog) = catalog().await;
    let register = trigger(&catalog);
    let payload = json!({
        "clientId": "ID-91B2F06B3F05",
        "serialNumber": "SN-D7F3C8947867",
        "activationCode": "AC-9BE75CD0F1543D44C9AB",
        "activated": "false",
        "device": "myThing1",
        "type": "MySmartIoTDevice",
        "email": "not@registered.yet",
        "endpoint": "abc123-ats.iot.us-east-1.amazonaws.com",
        "certificateId": "4f8d8ed8d1e3f4c5b6a7e8f9d0c1b2a3"
    });
    let reply = register.send(&payload).await.unwrap();
    assert_eq!(
        reply,
        json!({
            "serialNumber": "SN-D7F3C8947867",
            "clientId": "ID-91B2F06B3F05",
            "status": "registered",
            "activated": false
        })
    );
    let reg: Registration = serde_json::from_value(payload).unwrap();
    let item = raw_item(&moto, &reg).await;
    let s = |v: &str| AttributeValue::S(v.into());
    assert_eq!(
        item,
        HashMap::from([
            ("serialNumber".to_owned(), s("SN-D7F3C8947867")),
            ("clientId".to_owned(), s("ID-91B2F06B3F05")),
            ("device".to_owned(), s("myThing1")),
            (
                "endpoint".to_owned(),
                s("abc123-ats.iot.us-east-1.amazonaws.com")
            ),
            ("type".to_owned(), s("MySmartIoTDevice")),
            (
                "certificateId".to_owned(),
                s("4f8d8ed8d1e3f4c5b6a7e8f9d0c1b2a3")
            ),
            ("activationCode".to_owned(), s("AC-9BE75CD0F1543D44C9AB")),
            ("activated".to_owned(), AttributeValue::Bool(false)),
        ])
    );

    // Without a certificate: no `certificateId` attribute. A hub's second
    // client device shares the serial number.
    let mut second = device("SN-D7F3C8947867");
    second.client_id = "ID-000000000002".into();
    let reply = register.send(&second).await.unwrap();
    assert_eq!(reply["status"], "registered");
    let item = raw_item(&moto, &second).await;
    assert!(!item.contains_key("certificateId"), "{item:?}");
    assert!(!item.contains_key("email"), "{item:?}");
    assert_eq!(item.len(), 7, "{item:?}");
    assert_eq!(
        stored(&catalog, &reg).await.unwrap().client_id,
        "ID-91B2F06B3F05"
    );
}

/// The right code activates, in every event kind: 200 with the article's
/// message, the owner stored; the device cannot be activated again, not
/// even with the right code and another address.
#[tokio::test]
async fn activation_succeeds_once() {
    let (moto, catalog) = catalog().await;
    let register = trigger(&catalog);
    let client = http(&catalog);
    for (i, kind) in EventKind::LAMBDA.into_iter().enumerate() {
        let ctx = format!("{kind:?}");
        let reg = device(&format!("SN-00000000000{i}"));
        register.send(&reg).await.unwrap();

        let res = activate(
            &client,
            kind,
            &reg,
            &reg.activation_code,
            "owner@example.com",
        )
        .await;
        assert_eq!(res.status(), 200, "{ctx}: {}", res.text());
        assert_eq!(
            res.header("content-type"),
            Some("application/json"),
            "{ctx}"
        );
        assert_eq!(
            res.json::<ActivateReply>(),
            ActivateReply {
                message: ACTIVATED.into(),
                serial_number: reg.serial_number.clone(),
                client_id: reg.client_id.clone(),
                device: "myThing1".into(),
                email: "owner@example.com".into(),
            },
            "{ctx}"
        );
        let item = raw_item(&moto, &reg).await;
        assert_eq!(item["activated"], AttributeValue::Bool(true), "{ctx}");
        assert_eq!(
            item["email"],
            AttributeValue::S("owner@example.com".into()),
            "{ctx}"
        );
        assert_eq!(
            item["activationCode"],
            AttributeValue::S(reg.activation_code.clone()),
            "{ctx}: the code is kept"
        );

        for email in ["owner@example.com", "thief@example.com"] {
            let res = activate(&client, kind, &reg, &reg.activation_code, email).await;
            assert_eq!(res.status(), 409, "{ctx}: {}", res.text());
            assert_eq!(
                problem(&res),
                json!({
                    "status": 409,
                    "title": "Conflict",
                    "detail": format!("device {}/ID-91B2F06B3F05 is activated already", reg.serial_number)
                }),
                "{ctx}"
            );
        }
        let device = stored(&catalog, &reg).await.unwrap();
        assert_eq!(device.email.as_deref(), Some("owner@example.com"), "{ctx}");
        assert!(device.activated, "{ctx}");
    }
}

/// A wrong code is the article's 403 and changes nothing; it is a 403 on
/// an activated device too (only the code's holder learns it is taken).
#[tokio::test]
async fn wrong_code_is_403() {
    let (moto, catalog) = catalog().await;
    let register = trigger(&catalog);
    let client = http(&catalog);
    let reg = device("SN-D7F3C8947867");
    register.send(&reg).await.unwrap();
    let before = raw_item(&moto, &reg).await;
    for kind in EventKind::LAMBDA {
        for code in [
            "AC-00000000000000000000",
            "ac-9be75cd0f1543d44c9ab",
            "AC-9BE75CD0F1543D44C9A",
        ] {
            let res = activate(&client, kind, &reg, code, "owner@example.com").await;
            assert_eq!(res.status(), 403, "{kind:?} {code}: {}", res.text());
            assert_eq!(
                problem(&res),
                json!({"status": 403, "title": "Forbidden", "detail": "Activation Code Invalid"}),
                "{kind:?}"
            );
        }
    }
    assert_eq!(raw_item(&moto, &reg).await, before, "unchanged");

    let res = activate(
        &client,
        EventKind::HttpV2,
        &reg,
        &reg.activation_code,
        "a@example.com",
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    let res = activate(
        &client,
        EventKind::HttpV2,
        &reg,
        "AC-00000000000000000000",
        "b@example.com",
    )
    .await;
    assert_eq!(res.status(), 403, "{}", res.text());
    assert_eq!(
        stored(&catalog, &reg).await.unwrap().email.as_deref(),
        Some("a@example.com")
    );
}

/// An unknown device is a 404, and the refused update creates no item
/// (an `UpdateItem` without its condition would have).
#[tokio::test]
async fn unknown_device_is_404() {
    let (_moto, catalog) = catalog().await;
    let client = http(&catalog);
    let known = device("SN-D7F3C8947867");
    trigger(&catalog).send(&known).await.unwrap();
    let unknown_serial = device("SN-FFFFFFFFFFFF");
    let mut unknown_client = device("SN-D7F3C8947867");
    unknown_client.client_id = "ID-FFFFFFFFFFFF".into();
    for kind in EventKind::LAMBDA {
        for reg in [&unknown_serial, &unknown_client] {
            let res = activate(
                &client,
                kind,
                reg,
                &reg.activation_code,
                "owner@example.com",
            )
            .await;
            assert_eq!(res.status(), 404, "{kind:?}: {}", res.text());
            assert_eq!(
                problem(&res)["detail"],
                format!(
                    "there is no device {} with client id {}",
                    reg.serial_number, reg.client_id
                ),
                "{kind:?}"
            );
            assert_eq!(
                stored(&catalog, reg).await,
                None,
                "{kind:?}: no item created"
            );
        }
    }
    assert!(!stored(&catalog, &known).await.unwrap().activated);
}

/// A registration delivered again leaves the device as it is (activated,
/// with its owner); the same keys with another activation code are a
/// function error, and the stored device is kept.
#[tokio::test]
async fn duplicate_registration_does_not_reset() {
    let (moto, catalog) = catalog().await;
    let register = trigger(&catalog);
    let client = http(&catalog);
    let reg = device("SN-D7F3C8947867");

    assert_eq!(register.send(&reg).await.unwrap()["status"], "registered");
    // Sent again before the activation: nothing to change, no error.
    let again = register.send(&reg).await.unwrap();
    assert_eq!(
        again,
        json!({
            "serialNumber": "SN-D7F3C8947867",
            "clientId": "ID-91B2F06B3F05",
            "status": "alreadyRegistered",
            "activated": false
        })
    );

    let res = activate(
        &client,
        EventKind::RestV1,
        &reg,
        &reg.activation_code,
        "owner@example.com",
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    let activated = raw_item(&moto, &reg).await;

    // Sent again after: the device stays activated, with its owner, even
    // from a payload that says `"activated": "false"` and another email.
    let mut article = serde_json::to_value(&reg).unwrap();
    article["activated"] = json!("false");
    article["email"] = json!("not@registered.yet");
    article["device"] = json!("renamedThing");
    let again = register.send(&article).await.unwrap();
    assert_eq!(again["status"], "alreadyRegistered");
    assert_eq!(again["activated"], true);
    assert_eq!(raw_item(&moto, &reg).await, activated, "unchanged");

    // Another code under the same keys: refused, loudly.
    let mut other = reg.clone();
    other.activation_code = "AC-00000000000000000000".into();
    let err = register.send(&other).await.unwrap_err();
    assert_eq!(err.error_type, "RegisterError");
    assert_eq!(
        err.message,
        "device SN-D7F3C8947867/ID-91B2F06B3F05 is registered already, with another activation code; the stored device is kept"
    );
    assert_eq!(raw_item(&moto, &reg).await, activated, "unchanged");
    // The new code does not activate it either.
    let res = activate(
        &client,
        EventKind::RestV1,
        &reg,
        "AC-00000000000000000000",
        "x@example.com",
    )
    .await;
    assert_eq!(res.status(), 403);
}

/// Two owners activate one device with its code at the same time: one
/// conditional update wins (200), the other is refused (409), and the
/// stored owner is the winner. The article's read-then-write would have
/// told both "Device now active!" and kept the later email.
#[tokio::test]
async fn concurrent_activations_with_one_code() {
    let (_moto, catalog) = catalog().await;
    let register = trigger(&catalog);
    let client = http(&catalog);
    for round in 0..10 {
        let reg = device(&format!("SN-RACE{round:07}"));
        register.send(&reg).await.unwrap();
        let (a, b) = tokio::join!(
            activate(
                &client,
                EventKind::RestV1,
                &reg,
                &reg.activation_code,
                "alice@example.com"
            ),
            activate(
                &client,
                EventKind::HttpV2,
                &reg,
                &reg.activation_code,
                "bob@example.com"
            ),
        );
        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(
            statuses,
            [200, 409],
            "round {round}: {} / {}",
            a.text(),
            b.text()
        );
        let winner = if a.status() == 200 { &a } else { &b };
        let email = winner.json::<ActivateReply>().email;
        let device = stored(&catalog, &reg).await.unwrap();
        assert!(device.activated, "round {round}");
        assert_eq!(device.email, Some(email), "round {round}");
    }
}

/// Two registrations of the same keys with different codes at the same
/// time: one is stored, the other is a function error, never an overwrite.
#[tokio::test]
async fn concurrent_registrations_store_one() {
    let (_moto, catalog) = catalog().await;
    let register = trigger(&catalog);
    for round in 0..5 {
        let a = device(&format!("SN-REG{round:08}"));
        let mut b = a.clone();
        b.activation_code = "AC-BBBBBBBBBBBBBBBBBBBB".into();
        let (ra, rb) = tokio::join!(register.send(&a), register.send(&b));
        assert!(ra.is_ok() != rb.is_ok(), "round {round}: {ra:?} / {rb:?}");
        let winner = if ra.is_ok() { &a } else { &b };
        let device = stored(&catalog, &a).await.unwrap();
        assert_eq!(
            device.activation_code, winner.activation_code,
            "round {round}"
        );
    }
}

/// Devices from the provisioning generator register and activate with
/// their own codes.
#[tokio::test]
async fn provisioned_devices_register_and_activate() {
    let (_moto, catalog) = catalog().await;
    let register = trigger(&catalog);
    let client = http(&catalog);
    let batch = Fleet::default().generate(5);
    for reg in &batch {
        let reply = register.send(reg).await.unwrap();
        assert_eq!(reply["status"], "registered", "{reply}");
    }
    for (i, reg) in batch.iter().enumerate() {
        let email = format!("owner{i}@example.com");
        let res = activate(
            &client,
            EventKind::HttpV2,
            reg,
            &reg.activation_code,
            &email,
        )
        .await;
        assert_eq!(res.status(), 200, "{}", res.text());
        assert_eq!(
            res.json::<ActivateReply>().device,
            format!("myThing{}", i + 1)
        );
    }
}

/// DynamoDB failing (here: no such table) is a bare 500 for the API and a
/// function error for the registration, never a 404 or a success.
#[tokio::test]
async fn store_failures() {
    let moto = Moto::start();
    let catalog = Catalog::new(moto.dynamodb(), "no-such-table");
    let reg = device("SN-D7F3C8947867");
    let err = trigger(&catalog).send(&reg).await.unwrap_err();
    assert_eq!(err.error_type, "RegisterError");
    assert!(err.message.starts_with("DynamoDB: "), "{err}");
    assert!(err.message.contains("ResourceNotFoundException"), "{err}");
    let client = http(&catalog);
    for kind in EventKind::LAMBDA {
        let res = activate(
            &client,
            kind,
            &reg,
            &reg.activation_code,
            "owner@example.com",
        )
        .await;
        assert_eq!(res.status(), 500, "{kind:?}: {}", res.text());
        assert_eq!(
            problem(&res),
            json!({"status": 500, "title": "Internal Server Error"}),
            "{kind:?}"
        );
    }
}

#[tokio::test]
async fn the_export_streams_the_catalog_page_by_page() {
    let (_moto, catalog) = catalog().await;
    let n = 2 * iot_catalog::EXPORT_PAGE as usize + 7;
    for i in 0..n {
        let mut reg = device(&format!("SN-{i:04}"));
        if i == 0 {
            reg.device = "thing, \"quoted\"".into();
        }
        catalog.register(&reg).await.unwrap();
    }
    catalog
        .activate(
            "SN-0001",
            "ID-91B2F06B3F05",
            &device("SN-0001").activation_code,
            "o@example.com",
        )
        .await
        .unwrap();

    // A function URL: the header, then one chunk per DynamoDB page.
    let res = http(&catalog)
        .get("/devices/export.csv")
        .kind(EventKind::FunctionUrl)
        .send()
        .await;
    assert!(res.is_streamed());
    assert_eq!(res.status(), 200);
    assert_eq!(res.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(res.chunks().len(), 1 + 3, "the header and three pages");
    assert_eq!(res.chunks()[0], iot_catalog::EXPORT_HEADER);
    let lines: Vec<&str> = res.text().lines().collect();
    assert_eq!(lines.len(), 1 + n);
    assert!(
        lines.contains(&"SN-0000,ID-91B2F06B3F05,\"thing, \"\"quoted\"\"\",MySmartIoTDevice,false")
    );
    assert!(lines.contains(&"SN-0001,ID-91B2F06B3F05,myThing1,MySmartIoTDevice,true"));
    assert!(!res.text().contains("o@example.com"), "no owner addresses");

    // An HTTP API cannot stream: the same CSV, whole.
    let whole = http(&catalog)
        .get("/devices/export.csv")
        .kind(EventKind::HttpV2)
        .send()
        .await;
    assert!(!whole.is_streamed());
    assert_eq!(whole.text(), res.text());
}

#[tokio::test]
async fn a_failed_scan_ends_the_export_with_the_error() {
    let (moto, _catalog) = catalog().await;
    let gone = Catalog::new(moto.dynamodb(), "no-such-table");
    let res = http(&gone)
        .get("/devices/export.csv")
        .kind(EventKind::FunctionUrl)
        .send()
        .await;
    assert_eq!(res.status(), 200, "the status went out first");
    assert_eq!(res.text(), iot_catalog::EXPORT_HEADER);
    assert!(
        res.stream_error()
            .is_some_and(|e| e.contains("no-such-table") || e.contains("ResourceNotFound")),
        "{:?}",
        res.stream_error()
    );
}
