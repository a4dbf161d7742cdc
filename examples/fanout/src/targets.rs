//! One call to one target: the SDK calls for the AWS services, and small
//! RESP (Redis) and text-protocol (Memcached) clients over TCP.
//!
//! Every call answers per entry: `Ok(errors)` with `errors[i] == None` for
//! an entry the target took, `Err` when the call as a whole failed (no
//! entry is known to be delivered).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufStream};
use tokio::net::TcpStream;

use crate::mapping::{Mapping, TargetType, err};

/// One entry of a call: a record's payload and key.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The record's source.
    pub source_arn: String,
    /// Partition key (Kinesis) or item keys (DynamoDB).
    pub partition_key: String,
    /// What is forwarded.
    pub body: Bytes,
}

/// Per entry: `None` delivered, `Some(reason)` not.
pub type EntryErrors = Vec<Option<String>>;

/// The text of a message body (SQS, SNS): the data when it is UTF-8, else
/// its base64 (with the `fanout-encoding: base64` attribute).
pub fn message_text(body: &[u8]) -> (String, bool) {
    match std::str::from_utf8(body) {
        Ok(s) => (s.to_owned(), false),
        Err(_) => (base64::engine::general_purpose::STANDARD.encode(body), true),
    }
}

/// The bytes an entry costs in a call to `t` (what the service's limits
/// count).
pub fn cost(t: TargetType, e: &Entry) -> usize {
    match t {
        TargetType::Sqs | TargetType::Sns => {
            let b64 = std::str::from_utf8(&e.body).is_err();
            if b64 {
                e.body.len().div_ceil(3) * 4 + 40
            } else {
                e.body.len()
            }
        }
        TargetType::Kinesis => e.body.len() + e.partition_key.len(),
        TargetType::Firehose | TargetType::Redis | TargetType::Memcached => e.body.len(),
        TargetType::Lambda => lambda_record(e).to_string().len() + 1,
    }
}

fn lambda_record(e: &Entry) -> serde_json::Value {
    serde_json::json!({
        "sourceArn": e.source_arn,
        "partitionKey": e.partition_key,
        "data": base64::engine::general_purpose::STANDARD.encode(&e.body),
    })
}

/// The clients of every target type, shared by all invocations.
#[derive(Debug)]
pub struct Targets {
    sqs: aws_sdk_sqs::Client,
    sns: aws_sdk_sns::Client,
    kinesis: aws_sdk_kinesis::Client,
    firehose: aws_sdk_firehose::Client,
    lambda: aws_sdk_lambda::Client,
    queue_urls: tokio::sync::Mutex<HashMap<String, String>>,
    conns: tokio::sync::Mutex<HashMap<String, Vec<BufStream<TcpStream>>>>,
    calls: AtomicU64,
    io_timeout: Duration,
}

impl Targets {
    /// Clients for every AWS target from one SDK configuration.
    pub fn new(conf: &aws_config::SdkConfig) -> Targets {
        Targets {
            sqs: aws_sdk_sqs::Client::new(conf),
            sns: aws_sdk_sns::Client::new(conf),
            kinesis: aws_sdk_kinesis::Client::new(conf),
            firehose: aws_sdk_firehose::Client::new(conf),
            lambda: aws_sdk_lambda::Client::new(conf),
            queue_urls: tokio::sync::Mutex::new(HashMap::new()),
            conns: tokio::sync::Mutex::new(HashMap::new()),
            calls: AtomicU64::new(0),
            io_timeout: Duration::from_secs(5),
        }
    }

    /// Calls made to targets so far (each batch call, each Redis or
    /// Memcached round trip).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// One call carrying `entries` to the mapping's target.
    pub async fn send(&self, m: &Mapping, entries: &[&Entry]) -> Result<EntryErrors, String> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        match m.target {
            TargetType::Sqs => self.sqs(m, entries).await,
            TargetType::Sns => self.sns(m, entries).await,
            TargetType::Kinesis => self.kinesis(m, entries).await,
            TargetType::Firehose => self.firehose(m, entries).await,
            TargetType::Lambda => self.lambda(m, entries).await,
            TargetType::Redis => self.redis(m, entries).await,
            TargetType::Memcached => self.memcached(m, entries).await,
        }
    }

    async fn queue_url(&self, destination: &str) -> Result<String, String> {
        if destination.starts_with("https://") || destination.starts_with("http://") {
            return Ok(destination.to_owned());
        }
        if let Some(url) = self.queue_urls.lock().await.get(destination) {
            return Ok(url.clone());
        }
        // A name, or an ARN `arn:aws:sqs:REGION:ACCOUNT:NAME`.
        let parts: Vec<&str> = destination.split(':').collect();
        let (name, owner) = match parts.as_slice() {
            ["arn", _, "sqs", _, account, name] => (*name, Some(*account)),
            _ => (destination, None),
        };
        let out = self
            .sqs
            .get_queue_url()
            .queue_name(name)
            .set_queue_owner_aws_account_id(owner.map(str::to_owned))
            .send()
            .await
            .map_err(|e| format!("queue {destination}: {}", err(&e)))?;
        let url = out.queue_url().unwrap_or_default().to_owned();
        self.queue_urls
            .lock()
            .await
            .insert(destination.to_owned(), url.clone());
        Ok(url)
    }

    async fn sqs(&self, m: &Mapping, entries: &[&Entry]) -> Result<EntryErrors, String> {
        use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
        let url = self.queue_url(&m.destination).await?;
        let mut batch = Vec::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            let (text, b64) = message_text(&e.body);
            let mut b = SendMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .message_body(text);
            if b64 {
                b = b.message_attributes(
                    "fanout-encoding",
                    MessageAttributeValue::builder()
                        .data_type("String")
                        .string_value("base64")
                        .build()
                        .map_err(|e| e.to_string())?,
                );
            }
            batch.push(b.build().map_err(|e| e.to_string())?);
        }
        let out = self
            .sqs
            .send_message_batch()
            .queue_url(url)
            .set_entries(Some(batch))
            .send()
            .await
            .map_err(|e| format!("SendMessageBatch to {}: {}", m.destination, err(&e)))?;
        let mut errors = vec![None; entries.len()];
        for f in out.failed() {
            if let Ok(i) = f.id().parse::<usize>() {
                errors[i] = Some(format!("{}: {}", f.code(), f.message().unwrap_or("")));
            }
        }
        Ok(errors)
    }

    async fn sns(&self, m: &Mapping, entries: &[&Entry]) -> Result<EntryErrors, String> {
        use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};
        let mut batch = Vec::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            let (text, b64) = message_text(&e.body);
            let mut b = PublishBatchRequestEntry::builder()
                .id(i.to_string())
                .message(text);
            if b64 {
                b = b.message_attributes(
                    "fanout-encoding",
                    MessageAttributeValue::builder()
                        .data_type("String")
                        .string_value("base64")
                        .build()
                        .map_err(|e| e.to_string())?,
                );
            }
            batch.push(b.build().map_err(|e| e.to_string())?);
        }
        let out = self
            .sns
            .publish_batch()
            .topic_arn(&m.destination)
            .set_publish_batch_request_entries(Some(batch))
            .send()
            .await
            .map_err(|e| format!("PublishBatch to {}: {}", m.destination, err(&e)))?;
        let mut errors = vec![None; entries.len()];
        for f in out.failed() {
            if let Ok(i) = f.id().parse::<usize>() {
                errors[i] = Some(format!("{}: {}", f.code(), f.message().unwrap_or("")));
            }
        }
        Ok(errors)
    }

    async fn kinesis(&self, m: &Mapping, entries: &[&Entry]) -> Result<EntryErrors, String> {
        use aws_sdk_kinesis::primitives::Blob;
        use aws_sdk_kinesis::types::PutRecordsRequestEntry;
        let mut batch = Vec::with_capacity(entries.len());
        for e in entries {
            let key = if e.partition_key.is_empty() {
                "fanout"
            } else {
                &e.partition_key
            };
            batch.push(
                PutRecordsRequestEntry::builder()
                    .data(Blob::new(e.body.to_vec()))
                    .partition_key(truncate(key, 256))
                    .build()
                    .map_err(|e| e.to_string())?,
            );
        }
        let mut req = self.kinesis.put_records().set_records(Some(batch));
        req = if m.destination.starts_with("arn:") {
            req.stream_arn(&m.destination)
        } else {
            req.stream_name(&m.destination)
        };
        let out = req
            .send()
            .await
            .map_err(|e| format!("PutRecords to {}: {}", m.destination, err(&e)))?;
        let results = out.records();
        if results.len() != entries.len() {
            return Err(format!(
                "PutRecords answered for {} of {} records",
                results.len(),
                entries.len()
            ));
        }
        Ok(results
            .iter()
            .map(|r| {
                r.error_code()
                    .map(|c| format!("{c}: {}", r.error_message().unwrap_or("")))
            })
            .collect())
    }

    async fn firehose(&self, m: &Mapping, entries: &[&Entry]) -> Result<EntryErrors, String> {
        use aws_sdk_firehose::primitives::Blob;
        use aws_sdk_firehose::types::Record;
        let name = m
            .destination
            .rsplit_once("deliverystream/")
            .map_or(m.destination.as_str(), |(_, n)| n);
        let mut batch = Vec::with_capacity(entries.len());
        for e in entries {
            batch.push(
                Record::builder()
                    .data(Blob::new(e.body.to_vec()))
                    .build()
                    .map_err(|e| e.to_string())?,
            );
        }
        let out = self
            .firehose
            .put_record_batch()
            .delivery_stream_name(name)
            .set_records(Some(batch))
            .send()
            .await
            .map_err(|e| format!("PutRecordBatch to {}: {}", m.destination, err(&e)))?;
        let results = out.request_responses();
        if results.len() != entries.len() {
            return Err(format!(
                "PutRecordBatch answered for {} of {} records",
                results.len(),
                entries.len()
            ));
        }
        Ok(results
            .iter()
            .map(|r| {
                r.error_code()
                    .map(|c| format!("{c}: {}", r.error_message().unwrap_or("")))
            })
            .collect())
    }

    async fn lambda(&self, m: &Mapping, entries: &[&Entry]) -> Result<EntryErrors, String> {
        use aws_sdk_lambda::primitives::Blob;
        use aws_sdk_lambda::types::InvocationType;
        let records: Vec<serde_json::Value> = entries.iter().map(|e| lambda_record(e)).collect();
        let payload = serde_json::json!({ "Records": records }).to_string();
        let kind = match m.property("invocationType") {
            Some("RequestResponse") => InvocationType::RequestResponse,
            _ => InvocationType::Event,
        };
        let out = self
            .lambda
            .invoke()
            .function_name(&m.destination)
            .invocation_type(kind)
            .payload(Blob::new(payload))
            .send()
            .await
            .map_err(|e| format!("Invoke of {}: {}", m.destination, err(&e)))?;
        if let Some(fe) = out.function_error() {
            return Err(format!("{} failed: {fe}", m.destination));
        }
        Ok(vec![None; entries.len()])
    }

    async fn conn(&self, addr: &str) -> Result<BufStream<TcpStream>, String> {
        if let Some(c) = self.conns.lock().await.get_mut(addr).and_then(Vec::pop) {
            return Ok(c);
        }
        let s = tokio::time::timeout(self.io_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| format!("connecting to {addr}: timed out"))?
            .map_err(|e| format!("connecting to {addr}: {e}"))?;
        let _ = s.set_nodelay(true);
        Ok(BufStream::new(s))
    }

    async fn give_back(&self, addr: &str, c: BufStream<TcpStream>) {
        self.conns
            .lock()
            .await
            .entry(addr.to_owned())
            .or_default()
            .push(c);
    }

    async fn redis(&self, m: &Mapping, entries: &[&Entry]) -> Result<EntryErrors, String> {
        let addr = host_port(&m.destination);
        let key = m.property("key").unwrap_or(&m.id).to_owned();
        let publish = m.property("action") == Some("publish");
        let mut c = self.conn(addr).await?;
        let mut req = Vec::new();
        if publish {
            for e in entries {
                resp_command(&mut req, &[b"PUBLISH", key.as_bytes(), &e.body]);
            }
        } else {
            let mut args: Vec<&[u8]> = vec![b"RPUSH", key.as_bytes()];
            args.extend(entries.iter().map(|e| &e.body[..]));
            resp_command(&mut req, &args);
        }
        let replies = if publish { entries.len() } else { 1 };
        let answers = tokio::time::timeout(self.io_timeout, async {
            c.write_all(&req).await?;
            c.flush().await?;
            let mut out = Vec::with_capacity(replies);
            let mut line = String::new();
            for _ in 0..replies {
                line.clear();
                if c.read_line(&mut line).await? == 0 {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the connection closed",
                    ));
                }
                out.push(match line.as_bytes().first() {
                    Some(b':') | Some(b'+') => None,
                    _ => Some(line.trim_end().to_owned()),
                });
            }
            Ok(out)
        })
        .await
        .map_err(|_| format!("redis {addr}: timed out"))?
        .map_err(|e| format!("redis {addr}: {e}"))?;
        self.give_back(addr, c).await;
        Ok(if publish {
            answers
        } else {
            vec![answers[0].clone(); entries.len()]
        })
    }

    async fn memcached(&self, m: &Mapping, entries: &[&Entry]) -> Result<EntryErrors, String> {
        let addr = host_port(&m.destination);
        let prefix = m.property("keyPrefix").unwrap_or("");
        let ttl: u32 = m.property("ttl").and_then(|t| t.parse().ok()).unwrap_or(0);
        let mut c = self.conn(addr).await?;
        let mut req = Vec::new();
        for e in entries {
            let key = memcached_key(prefix, &e.partition_key);
            req.extend_from_slice(format!("set {key} 0 {ttl} {}\r\n", e.body.len()).as_bytes());
            req.extend_from_slice(&e.body);
            req.extend_from_slice(b"\r\n");
        }
        let answers = tokio::time::timeout(self.io_timeout, async {
            c.write_all(&req).await?;
            c.flush().await?;
            let mut out = Vec::with_capacity(entries.len());
            let mut line = String::new();
            for _ in entries {
                line.clear();
                if c.read_line(&mut line).await? == 0 {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the connection closed",
                    ));
                }
                out.push((line != "STORED\r\n").then(|| line.trim_end().to_owned()));
            }
            Ok(out)
        })
        .await
        .map_err(|_| format!("memcached {addr}: timed out"))?
        .map_err(|e| format!("memcached {addr}: {e}"))?;
        self.give_back(addr, c).await;
        Ok(answers)
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// `redis://host:port/…` or `host:port` → `host:port`.
fn host_port(destination: &str) -> &str {
    let d = destination
        .split_once("://")
        .map_or(destination, |(_, rest)| rest);
    d.split('/').next().unwrap_or(d)
}

/// A RESP array of bulk strings.
fn resp_command(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// A valid Memcached key: at most 250 bytes, no spaces or control
/// characters (those become `_`; a longer key is its prefix and MD5).
pub fn memcached_key(prefix: &str, key: &str) -> String {
    let k: String = format!("{prefix}{key}")
        .chars()
        .map(|c| {
            if c.is_whitespace() || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    if k.len() <= 250 {
        return k;
    }
    use md5::{Digest, Md5};
    let digest: String = Md5::digest(k.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{}{digest}", truncate(&k, 200))
}
