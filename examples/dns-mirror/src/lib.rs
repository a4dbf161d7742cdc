//! A secondary DNS in Route 53, after the AWS Compute Blog article
//! "Powering Secondary DNS in a VPC using AWS Lambda and Amazon Route 53
//! Private Hosted Zones": every 15 minutes, [`sync`] reads the primary's
//! SOA over TCP; when its serial is not the mirrored one it transfers the
//! zone (AXFR), lists the hosted zone, and applies the difference with
//! ChangeResourceRecordSets, then stores the new serial.
//!
//! | handler | what |
//! |---|---|
//! | `#[schedule("rate(15 minutes)", input = {...})]` [`sync`] | the article's event: `{"Domain", "MasterDns", "ZoneId", "IgnoreTTL", "ZoneSerial"}` |
//!
//! The same sync runs once from the command line with the
//! `dns-mirror-sync` binary (`--dry-run` prints the change set). See the
//! README.

use std::fmt;
use std::time::Duration;

use lambada::prelude::*;
use serde_json::Value;

pub mod diff;
pub mod dns;
pub mod route53;

pub use diff::{Action, Change, RecordSet};
pub use dns::TransferError;
pub use route53::{HostedZone, SerialStore};

/// The function's input, the article's event:
///
/// ```json
/// {"Domain": "corp.example.com", "MasterDns": "10.0.0.1", "ZoneId": "Z0123456789",
///  "IgnoreTTL": "False", "ZoneSerial": ""}
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncInput {
    /// The zone to mirror.
    pub domain: String,
    /// The primary: `10.0.0.1`, `10.0.0.1:5353`, a host name.
    pub master_dns: String,
    /// The Route 53 hosted zone (`Z...` or `/hostedzone/Z...`).
    pub zone_id: String,
    /// TTL differences alone are no reason to change a record set.
    pub ignore_ttl: bool,
    /// Where the mirrored serial is kept: empty for the hosted zone's SOA,
    /// or the name of a TXT record in the hosted zone.
    pub zone_serial: String,
}

const KEYS: [&str; 5] = ["Domain", "MasterDns", "ZoneId", "IgnoreTTL", "ZoneSerial"];

/// An input the function cannot run with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError(pub String);

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bad input: {} (all of Domain, MasterDns, ZoneId, IgnoreTTL and ZoneSerial are \
             required, with values for Domain, MasterDns and ZoneId)",
            self.0
        )
    }
}

impl std::error::Error for InputError {}

impl SyncInput {
    /// Reads and checks the event: every key present, Domain, MasterDns and
    /// ZoneId non-empty strings, IgnoreTTL a boolean or `"True"` /
    /// `"False"` (any case; `""` is false), ZoneSerial a string.
    pub fn from_json(v: &Value) -> Result<SyncInput, InputError> {
        let obj = v
            .as_object()
            .ok_or_else(|| InputError("the input is not a JSON object".into()))?;
        let missing: Vec<&str> = KEYS
            .iter()
            .copied()
            .filter(|k| !obj.contains_key(*k))
            .collect();
        if !missing.is_empty() {
            return Err(InputError(format!("missing {}", missing.join(", "))));
        }
        let required = |k: &str| -> Result<String, InputError> {
            match &obj[k] {
                Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
                Value::String(_) | Value::Null => Err(InputError(format!("{k} is empty"))),
                other => Err(InputError(format!("{k} is not a string: {other}"))),
            }
        };
        let ignore_ttl = match &obj["IgnoreTTL"] {
            Value::Bool(b) => *b,
            Value::Null => false,
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" => true,
                "false" | "" => false,
                _ => {
                    return Err(InputError(format!(
                        "IgnoreTTL is {s:?}, not \"True\" or \"False\""
                    )));
                }
            },
            other => return Err(InputError(format!("IgnoreTTL is not a boolean: {other}"))),
        };
        let zone_serial = match &obj["ZoneSerial"] {
            Value::String(s) => s.trim().to_string(),
            Value::Null => String::new(),
            other => return Err(InputError(format!("ZoneSerial is not a string: {other}"))),
        };
        let input = SyncInput {
            domain: required("Domain")?,
            master_dns: required("MasterDns")?,
            zone_id: required("ZoneId")?,
            ignore_ttl,
            zone_serial,
        };
        dns::zone_name(&input.domain).map_err(|e| InputError(format!("Domain: {e}")))?;
        Ok(input)
    }

    /// Where the serial is kept.
    pub fn serial_store(&self) -> SerialStore {
        if self.zone_serial.is_empty() {
            SerialStore::Soa
        } else {
            SerialStore::Txt(self.zone_serial.clone())
        }
    }
}

/// Why a sync failed: the invocation is a function error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncError {
    Input(InputError),
    /// Reading the primary failed: Route 53 was not changed.
    Transfer(TransferError),
    /// A Route 53 call failed. Changes of the requests before it are in
    /// place; the serial is written last, so the next run syncs again.
    Route53(String),
}

impl fmt::Display for SyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncError::Input(e) => e.fmt(f),
            SyncError::Transfer(e) => write!(f, "{e}; Route 53 was not changed"),
            SyncError::Route53(e) => write!(f, "Route 53: {e}"),
        }
    }
}

impl std::error::Error for SyncError {}

impl From<InputError> for SyncError {
    fn from(e: InputError) -> Self {
        SyncError::Input(e)
    }
}

impl From<TransferError> for SyncError {
    fn from(e: TransferError) -> Self {
        SyncError::Transfer(e)
    }
}

/// How a sync runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Compute the change set, change nothing.
    pub dry_run: bool,
    /// Transfer and compare even when the serials are equal.
    pub force: bool,
}

/// What a sync found and did.
#[derive(Debug, Clone)]
pub struct Report {
    pub primary_serial: u32,
    /// The serial stored in Route 53 before the sync.
    pub mirrored_serial: Option<u32>,
    /// The serials were equal: nothing transferred, nothing changed.
    pub up_to_date: bool,
    /// The record set changes (without the serial's own).
    pub changes: Vec<Change>,
    /// The change that stores the new serial.
    pub serial_change: Option<Change>,
    /// ChangeResourceRecordSets requests sent.
    pub requests: usize,
    /// Records of the primary Route 53 cannot hold.
    pub skipped: Vec<String>,
}

/// The sync's clients and limits: the function's state.
#[derive(Debug, Clone)]
pub struct Mirror {
    route53: aws_sdk_route53::Client,
    /// The time limit of each exchange with the primary (SOA, AXFR).
    pub dns_timeout: Duration,
    /// Route 53's per-request limits (changeable for tests).
    pub max_records: usize,
    pub max_chars: usize,
}

impl Mirror {
    pub fn new(route53: aws_sdk_route53::Client) -> Mirror {
        Mirror {
            route53,
            dns_timeout: Duration::from_secs(30),
            max_records: diff::MAX_RECORDS,
            max_chars: diff::MAX_CHARS,
        }
    }

    /// From the environment, as under Lambda (`DNS_TIMEOUT_SECS`, default
    /// 30; the AWS SDK's variables).
    pub async fn from_env() -> Mirror {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let mut m = Mirror::new(aws_sdk_route53::Client::new(&config));
        if let Some(secs) = std::env::var("DNS_TIMEOUT_SECS")
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .filter(|s| *s > 0)
        {
            m.dns_timeout = Duration::from_secs(secs);
        }
        m
    }

    /// One sync of `input`'s zone. Nothing in Route 53 is changed until
    /// the whole zone has been transferred.
    pub async fn sync(&self, input: &SyncInput, opts: Options) -> Result<Report, SyncError> {
        let zone = dns::zone_name(&input.domain).map_err(InputError)?;
        let domain = zone.to_ascii();
        let server = dns::resolve(&input.master_dns).await?;
        let store = input.serial_store();
        let hosted = HostedZone::new(self.route53.clone(), &input.zone_id);

        let primary_serial = dns::soa_serial(server, &zone, self.dns_timeout).await?;
        let stored = hosted
            .stored_serial(&domain, &store)
            .await
            .map_err(SyncError::Route53)?;
        let mut report = Report {
            primary_serial,
            mirrored_serial: stored.serial,
            up_to_date: false,
            changes: Vec::new(),
            serial_change: None,
            requests: 0,
            skipped: Vec::new(),
        };
        if stored.serial == Some(primary_serial) && !opts.force {
            report.up_to_date = true;
            return Ok(report);
        }

        let records = dns::axfr(server, &zone, self.dns_timeout).await?;
        let serial = records
            .first()
            .and_then(|r| match r.data() {
                hickory_proto::rr::RData::SOA(soa) => Some(soa.serial()),
                _ => None,
            })
            .unwrap_or(primary_serial);
        report.primary_serial = serial;
        let wanted = diff::zone_from_axfr(&zone, &records);
        report.skipped = wanted.skipped.clone();

        let listed = hosted.list().await.map_err(SyncError::Route53)?;
        let current = route53::managed(&listed, &domain, &store);
        report.changes = diff::diff(&wanted.sets, &current, input.ignore_ttl);
        if stored.serial != Some(serial) {
            report.serial_change = Some(hosted.serial_change(&domain, &store, &stored, serial));
        }
        if opts.dry_run {
            return Ok(report);
        }

        let comment = format!("dns-mirror {domain} serial {serial}");
        for batch in diff::batches(&report.changes, self.max_records, self.max_chars) {
            hosted
                .apply(&batch, &comment)
                .await
                .map_err(SyncError::Route53)?;
            report.requests += 1;
        }
        // Last: a failure above leaves the old serial, and the next run
        // compares again.
        if let Some(change) = &report.serial_change {
            hosted
                .apply(std::slice::from_ref(change), &comment)
                .await
                .map_err(SyncError::Route53)?;
            report.requests += 1;
        }
        Ok(report)
    }
}

/// Mirrors one zone: the article's event as the schedule's constant input
/// (edit it here, or give the rule another input; one rule target per
/// zone). A bad input, a failed transfer or a Route 53 error is a function
/// error.
#[schedule(
    "rate(15 minutes)",
    input = {
        "Domain": "corp.example.com",
        "MasterDns": "10.0.0.1",
        "ZoneId": "Z0123456789EXAMPLE",
        "IgnoreTTL": "False",
        "ZoneSerial": ""
    },
    timeout = 300
)]
pub async fn sync(Json(input): Json<Value>, mirror: State<Mirror>) -> Result<(), SyncError> {
    let input = SyncInput::from_json(&input)?;
    let report = mirror.sync(&input, Options::default()).await?;
    if report.up_to_date {
        tracing::info!(
            domain = %input.domain,
            serial = report.primary_serial,
            "serial unchanged: nothing to do"
        );
        return Ok(());
    }
    for skipped in &report.skipped {
        tracing::warn!(domain = %input.domain, record = %skipped, "not mirrored: Route 53 cannot hold it");
    }
    for change in &report.changes {
        tracing::info!(domain = %input.domain, change = %change, "applied");
    }
    tracing::info!(
        domain = %input.domain,
        from = ?report.mirrored_serial,
        to = report.primary_serial,
        changes = report.changes.len(),
        requests = report.requests,
        "mirrored"
    );
    Ok(())
}

/// The route table, without state (what `cargo lambada routes` reads).
pub fn routes() -> Routes {
    routes![sync]
}

/// The route table with its Route 53 client.
pub fn app(mirror: Mirror) -> Routes {
    routes().with_state(mirror)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event() -> Value {
        json!({"Domain": "mydomain.com", "MasterDns": "10.0.0.1", "ZoneId": "AA11BB22CC33DD",
               "IgnoreTTL": "False", "ZoneSerial": ""})
    }

    #[test]
    fn reads_the_articles_event() {
        let input = SyncInput::from_json(&event()).unwrap();
        assert_eq!(input.domain, "mydomain.com");
        assert!(!input.ignore_ttl);
        assert_eq!(input.serial_store(), SerialStore::Soa);
        let mut e = event();
        e["IgnoreTTL"] = json!("True");
        e["ZoneSerial"] = json!("_serial.mydomain.com");
        let input = SyncInput::from_json(&e).unwrap();
        assert!(input.ignore_ttl);
        assert_eq!(
            input.serial_store(),
            SerialStore::Txt("_serial.mydomain.com".into())
        );
    }

    #[test]
    fn every_key_is_required() {
        for key in KEYS {
            let mut e = event();
            e.as_object_mut().unwrap().remove(key);
            let err = SyncInput::from_json(&e).unwrap_err().to_string();
            assert!(err.contains(&format!("missing {key}")), "{err}");
        }
        for key in ["Domain", "MasterDns", "ZoneId"] {
            let mut e = event();
            e[key] = json!("");
            let err = SyncInput::from_json(&e).unwrap_err().to_string();
            assert!(err.contains(&format!("{key} is empty")), "{err}");
        }
        let mut e = event();
        e["IgnoreTTL"] = json!("maybe");
        assert!(SyncInput::from_json(&e).is_err());
        assert!(SyncInput::from_json(&json!([1])).is_err());
    }

    #[test]
    fn one_scheduled_trigger() {
        let m = routes().manifest();
        let t = &m["triggers"];
        assert_eq!(t.as_array().unwrap().len(), 1);
        assert_eq!(t[0]["kind"], "schedule");
        assert_eq!(t[0]["handler"], "sync");
        assert_eq!(t[0]["source"], "rate(15 minutes)");
    }
}
