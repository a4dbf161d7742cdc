//! The sync end to end: BIND's `named` as the primary on a loopback port,
//! Route 53 in moto.
//!
//! - the first sync creates every record set, and stores the serial in the
//!   hosted zone's SOA;
//! - after the zone is edited (a record added, one changed, one deleted, a
//!   TTL changed, the serial bumped) and reloaded, the next sync makes
//!   exactly those changes;
//! - with the serial unchanged, a sync reads the stored serial and sends
//!   no other Route 53 request;
//! - a refused AXFR changes nothing and is a function error;
//! - `dns-mirror-sync --dry-run` prints the change set and changes nothing.

mod common;

use std::process::Command;

use common::{Named, ZoneConf, hosted_zone, records, route53};
use dns_mirror::{Mirror, Options, SyncInput};
use lambada_test_support::{AWS_ENV, Moto};
use serde_json::json;

fn zone_v1(serial: u32) -> String {
    format!(
        "$TTL 300
@ IN SOA ns1.example.test. hostmaster.example.test. ( {serial} 3600 600 86400 300 )
@ IN NS ns1.example.test.
@ IN MX 10 mail.example.test.
@ IN TXT \"v=spf1 -all\"
ns1 IN A 127.0.0.1
www IN A 10.0.0.1
www IN A 10.0.0.2
mail 600 IN A 10.0.0.3
ftp IN CNAME www.example.test.
_sip._tcp IN SRV 10 5 5060 sip.example.test.
sip IN AAAA 2001:db8::1
old IN A 10.0.0.9
* IN TXT \"wildcard\" \"two strings\"
"
    )
}

/// v1 with `new` added, `www` changed, `old` deleted, `mail`'s TTL changed.
fn zone_v2(serial: u32) -> String {
    format!(
        "$TTL 300
@ IN SOA ns1.example.test. hostmaster.example.test. ( {serial} 3600 600 86400 300 )
@ IN NS ns1.example.test.
@ IN MX 10 mail.example.test.
@ IN TXT \"v=spf1 -all\"
ns1 IN A 127.0.0.1
www IN A 10.0.0.1
www IN A 10.0.0.5
mail 900 IN A 10.0.0.3
ftp IN CNAME www.example.test.
_sip._tcp IN SRV 10 5 5060 sip.example.test.
sip IN AAAA 2001:db8::1
new IN A 10.0.0.4
* IN TXT \"wildcard\" \"two strings\"
"
    )
}

fn event(domain: &str, master: &str, zone_id: &str) -> serde_json::Value {
    json!({"Domain": domain, "MasterDns": master, "ZoneId": zone_id,
           "IgnoreTTL": "False", "ZoneSerial": ""})
}

fn is_change(call: &str) -> bool {
    call.starts_with("POST ") && call.contains("/rrset")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirrors_the_zone_then_exactly_its_edits() {
    let named = Named::start(&[ZoneConf {
        name: "example.test",
        text: zone_v1(2026010101),
        transfer: true,
    }]);
    let moto = Moto::start();
    let (client, calls) = route53(&moto);
    let zone_id = hosted_zone(&client, "example.test").await;
    let app = lambada::test::Client::new(dns_mirror::app(Mirror::new(client.clone())));

    // 1. The first sync creates everything, through the scheduled handler.
    calls.take();
    app.trigger("sync")
        .send(&event("example.test", &named.master(), &zone_id))
        .await
        .unwrap_or_else(|e| panic!("first sync: {e:?}\n{}", named.log()));
    let got = records(&client, &zone_id).await;
    let mirrored: Vec<&String> = got
        .iter()
        .filter(|r| !r.contains(" SOA ") && !r.starts_with("example.test. 172800 NS"))
        .collect();
    assert_eq!(
        mirrored,
        [
            "*.example.test. 300 TXT \"wildcard\" \"two strings\"",
            "_sip._tcp.example.test. 300 SRV 10 5 5060 sip.example.test.",
            "example.test. 300 MX 10 mail.example.test.",
            "example.test. 300 TXT \"v=spf1 -all\"",
            "ftp.example.test. 300 CNAME www.example.test.",
            "mail.example.test. 600 A 10.0.0.3",
            "ns1.example.test. 300 A 127.0.0.1",
            "old.example.test. 300 A 10.0.0.9",
            "sip.example.test. 300 AAAA 2001:db8::1",
            "www.example.test. 300 A 10.0.0.1 | 10.0.0.2",
        ],
        "all: {got:#?}"
    );
    let soa = got.iter().find(|r| r.contains(" SOA ")).unwrap();
    assert!(
        soa.contains(" 2026010101 "),
        "serial stored in the SOA: {soa}"
    );
    // The apex NS is Route 53's own: the primary's is not mirrored.
    assert!(
        !got.iter()
            .any(|r| r.contains("ns1.example.test.") && r.contains(" NS "))
    );
    let changes = calls.take().into_iter().filter(|c| is_change(c)).count();
    assert_eq!(
        changes, 2,
        "one request for the records, one for the serial"
    );

    // 2. Edit, bump the serial, reload: exactly the edits.
    named
        .replace_zone("example.test", &zone_v2(2026010102), 2026010102)
        .await;
    let mirror = Mirror::new(client.clone());
    let input = SyncInput::from_json(&event("example.test", &named.master(), &zone_id)).unwrap();
    let report = mirror.sync(&input, Options::default()).await.unwrap();
    let lines: Vec<String> = report.changes.iter().map(|c| c.to_string()).collect();
    assert_eq!(
        lines,
        [
            "DELETE old.example.test. 300 A 10.0.0.9",
            "UPSERT mail.example.test. 900 A 10.0.0.3",
            "UPSERT www.example.test. 300 A 10.0.0.1 | 10.0.0.5",
            "CREATE new.example.test. 300 A 10.0.0.4",
        ]
    );
    assert_eq!(report.mirrored_serial, Some(2026010101));
    assert_eq!(report.primary_serial, 2026010102);
    let after = records(&client, &zone_id).await;
    assert!(after.contains(&"new.example.test. 300 A 10.0.0.4".to_string()));
    assert!(after.contains(&"www.example.test. 300 A 10.0.0.1 | 10.0.0.5".to_string()));
    assert!(after.contains(&"mail.example.test. 900 A 10.0.0.3".to_string()));
    assert!(!after.iter().any(|r| r.starts_with("old.")));
    assert!(
        after
            .iter()
            .any(|r| r.contains(" SOA ") && r.contains(" 2026010102 "))
    );
    calls.take();

    // 3. Serial unchanged: one read of the stored serial, nothing else.
    let report = mirror.sync(&input, Options::default()).await.unwrap();
    assert!(report.up_to_date);
    let sent = calls.take();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].starts_with("GET ") && sent[0].contains("maxitems=1"),
        "{sent:?}"
    );

    // 4. A forced sync of an unchanged zone finds nothing to do.
    let report = mirror
        .sync(
            &input,
            Options {
                force: true,
                ..Options::default()
            },
        )
        .await
        .unwrap();
    assert!(report.changes.is_empty(), "{:?}", report.changes);
    assert!(!calls.take().iter().any(|c| is_change(c)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignore_ttl_small_batches_and_a_txt_serial() {
    let named = Named::start(&[ZoneConf {
        name: "example.test",
        text: zone_v1(7),
        transfer: true,
    }]);
    let moto = Moto::start();
    let (client, calls) = route53(&moto);
    let zone_id = hosted_zone(&client, "example.test").await;
    let mut mirror = Mirror::new(client.clone());
    mirror.max_records = 3;
    let mut e = event("example.test", &named.master(), &zone_id);
    e["IgnoreTTL"] = json!("True");
    e["ZoneSerial"] = json!("_serial.example.test");
    let input = SyncInput::from_json(&e).unwrap();
    let report = mirror.sync(&input, Options::default()).await.unwrap();
    assert_eq!(report.changes.len(), 10);
    // 11 records in 10 sets, at most 3 per request, then the serial.
    let sent = calls.take().into_iter().filter(|c| is_change(c)).count();
    assert_eq!(sent, report.requests);
    assert!(report.requests >= 5, "{}", report.requests);
    let got = records(&client, &zone_id).await;
    assert!(
        got.contains(&"_serial.example.test. 300 TXT \"7\"".to_string()),
        "{got:#?}"
    );
    // The SOA is left as Route 53 made it.
    assert!(!got.iter().any(|r| r.contains(" SOA ") && r.contains(" 7 ")));

    // Only a TTL changes (and the serial): with IgnoreTTL nothing to apply.
    let v1_ttl = zone_v1(8).replace("mail 600", "mail 60");
    named.replace_zone("example.test", &v1_ttl, 8).await;
    let report = mirror.sync(&input, Options::default()).await.unwrap();
    assert!(report.changes.is_empty(), "{:?}", report.changes);
    assert_eq!(report.mirrored_serial, Some(7));
    let got = records(&client, &zone_id).await;
    assert!(got.contains(&"_serial.example.test. 300 TXT \"8\"".to_string()));
    assert!(got.contains(&"mail.example.test. 600 A 10.0.0.3".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_transfer_changes_nothing() {
    let named = Named::start(&[ZoneConf {
        name: "closed.test",
        text: zone_v1(5).replace("example.test", "closed.test"),
        transfer: false,
    }]);
    let moto = Moto::start();
    let (client, calls) = route53(&moto);
    let zone_id = hosted_zone(&client, "closed.test").await;
    let before = records(&client, &zone_id).await;
    calls.take();
    let app = lambada::test::Client::new(dns_mirror::app(Mirror::new(client.clone())));
    let err = app
        .trigger("sync")
        .send(&event("closed.test", &named.master(), &zone_id))
        .await
        .unwrap_err();
    let text = format!("{err:?}");
    assert!(
        text.contains("REFUSED") || text.contains("Refused"),
        "{text}"
    );
    assert!(text.contains("Route 53 was not changed"), "{text}");
    assert!(!calls.take().iter().any(|c| is_change(c)));
    assert_eq!(records(&client, &zone_id).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_input_is_a_clear_function_error() {
    let moto = Moto::start();
    let (client, calls) = route53(&moto);
    let app = lambada::test::Client::new(dns_mirror::app(Mirror::new(client)));
    let err = app
        .trigger("sync")
        .send(
            &json!({"Domain": "example.test", "MasterDns": "127.0.0.1", "ZoneId": "Z1",
                      "IgnoreTTL": "False"}),
        )
        .await
        .unwrap_err();
    let text = format!("{err:?}");
    assert!(text.contains("missing ZoneSerial"), "{text}");
    let err = app
        .trigger("sync")
        .send(
            &json!({"Domain": "", "MasterDns": "127.0.0.1", "ZoneId": "Z1",
                      "IgnoreTTL": "False", "ZoneSerial": ""}),
        )
        .await
        .unwrap_err();
    assert!(format!("{err:?}").contains("Domain is empty"), "{err:?}");
    assert!(calls.take().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_dry_run_prints_the_change_set() {
    let named = Named::start(&[ZoneConf {
        name: "example.test",
        text: zone_v1(3),
        transfer: true,
    }]);
    let moto = Moto::start();
    let (client, _calls) = route53(&moto);
    let zone_id = hosted_zone(&client, "example.test").await;
    let before = records(&client, &zone_id).await;
    let out = Command::new(env!("CARGO_BIN_EXE_dns-mirror-sync"))
        .envs(AWS_ENV)
        .env("AWS_ENDPOINT_URL", moto.url())
        .args([
            "--domain",
            "example.test",
            "--master",
            &named.master(),
            "--zone-id",
            &zone_id,
            "--dry-run",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("CREATE www.example.test. 300 A 10.0.0.1 | 10.0.0.2"),
        "{stdout}"
    );
    assert!(
        stdout.contains("UPSERT example.test. "),
        "the serial: {stdout}"
    );
    assert!(stdout.contains("would change 10 record sets"), "{stdout}");
    assert_eq!(records(&client, &zone_id).await, before);
}
