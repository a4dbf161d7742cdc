//! Transfers that fail part way, from a scripted primary on loopback (a
//! real server does not misbehave on demand): the SOA query is answered,
//! then the AXFR is cut after its first message, or never answered. Either
//! way the sync is an error and Route 53 is not changed.

mod common;

use std::time::Duration;

use common::{hosted_zone, records, route53};
use dns_mirror::{Mirror, Options, SyncError, SyncInput, TransferError};
use hickory_proto::op::{Message, MessageType};
use hickory_proto::rr::rdata::{A, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use lambada_test_support::Moto;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Copy)]
enum Axfr {
    /// The opening SOA and one record, then the connection closes.
    Cut,
    /// No answer at all.
    Silent,
}

async fn read_query(conn: &mut TcpStream) -> Option<Message> {
    let mut len = [0u8; 2];
    conn.read_exact(&mut len).await.ok()?;
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    conn.read_exact(&mut buf).await.ok()?;
    Message::from_vec(&buf).ok()
}

async fn write_message(conn: &mut TcpStream, msg: &Message) {
    let bytes = msg.to_vec().unwrap();
    conn.write_all(&(bytes.len() as u16).to_be_bytes())
        .await
        .unwrap();
    conn.write_all(&bytes).await.unwrap();
}

/// A primary for `flaky.test` (serial 9) on a loopback port.
async fn scripted_primary(mode: Axfr) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut conn, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let Some(q) = read_query(&mut conn).await else {
                    return;
                };
                let zone = Name::from_ascii("flaky.test.").unwrap();
                let soa = Record::from_rdata(
                    zone.clone(),
                    300,
                    RData::SOA(SOA::new(
                        Name::from_ascii("ns1.flaky.test.").unwrap(),
                        Name::from_ascii("hostmaster.flaky.test.").unwrap(),
                        9,
                        3600,
                        600,
                        86400,
                        300,
                    )),
                );
                let mut answer = Message::new();
                answer
                    .set_id(q.id())
                    .set_message_type(MessageType::Response)
                    .add_query(q.queries()[0].clone())
                    .add_answer(soa);
                let axfr = q.queries()[0].query_type() == RecordType::AXFR;
                match (axfr, mode) {
                    (false, _) => write_message(&mut conn, &answer).await,
                    (true, Axfr::Cut) => {
                        answer.add_answer(Record::from_rdata(
                            Name::from_ascii("www.flaky.test.").unwrap(),
                            300,
                            RData::A(A::new(10, 0, 0, 1)),
                        ));
                        write_message(&mut conn, &answer).await;
                    }
                    (true, Axfr::Silent) => {
                        tokio::time::sleep(Duration::from_secs(120)).await;
                    }
                }
            });
        }
    });
    addr.to_string()
}

async fn sync_against(mode: Axfr) -> (SyncError, Vec<String>, Vec<String>, Vec<String>) {
    let master = scripted_primary(mode).await;
    let moto = Moto::start();
    let (client, calls) = route53(&moto);
    let zone_id = hosted_zone(&client, "flaky.test").await;
    let before = records(&client, &zone_id).await;
    calls.take();
    let mut mirror = Mirror::new(client.clone());
    mirror.dns_timeout = Duration::from_secs(2);
    let input = SyncInput::from_json(&json!({"Domain": "flaky.test", "MasterDns": master,
        "ZoneId": zone_id, "IgnoreTTL": "False", "ZoneSerial": ""}))
    .unwrap();
    let err = mirror.sync(&input, Options::default()).await.unwrap_err();
    let sent = calls.take();
    (err, sent, before, records(&client, &zone_id).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_transfer_changes_nothing() {
    let (err, sent, before, after) = sync_against(Axfr::Cut).await;
    assert!(
        matches!(err, SyncError::Transfer(TransferError::Truncated(_))),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("Route 53 was not changed"),
        "{err}"
    );
    // Only the read of the stored serial.
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].starts_with("GET "), "{sent:?}");
    assert_eq!(before, after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_transfer_times_out_and_changes_nothing() {
    let (err, sent, before, after) = sync_against(Axfr::Silent).await;
    assert!(
        matches!(err, SyncError::Transfer(TransferError::Timeout(_))),
        "{err:?}"
    );
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(before, after);
}

#[test]
fn reads_route53_and_moto_soa_values() {
    use dns_mirror::route53::soa_fields;
    let plain = "ns-1.awsdns-01.com. hostmaster.example.com. 42 7200 900 1209600 86400";
    assert_eq!(soa_fields(plain).unwrap()[2], "42");
    let moto =
        "{'Value': 'ns-2048.awsdns-64.com. hostmaster.example.com. 1 7200 900 1209600 86400'}";
    let f = soa_fields(moto).unwrap();
    assert_eq!(
        f.join(" "),
        "ns-2048.awsdns-64.com. hostmaster.example.com. 1 7200 900 1209600 86400"
    );
    assert!(soa_fields("not an soa").is_none());
}
