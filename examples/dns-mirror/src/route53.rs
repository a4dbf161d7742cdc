//! The Route 53 side: the hosted zone's record sets, the mirrored serial,
//! and ChangeResourceRecordSets.

use std::collections::BTreeMap;

use aws_sdk_route53::error::DisplayErrorContext;
use aws_sdk_route53::types::{
    self as r53, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};

use crate::diff::{Action, Change, Key, RecordSet, normalize_name};

/// One hosted zone.
#[derive(Debug, Clone)]
pub struct HostedZone {
    client: aws_sdk_route53::Client,
    /// The bare ID (`Z0123...`, without `/hostedzone/`).
    id: String,
}

/// Where the serial of the last mirrored zone is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SerialStore {
    /// `ZoneSerial` empty: in the serial field of the hosted zone's own SOA
    /// at the domain (the article's "the SOA is updated to match the
    /// source version").
    Soa,
    /// `ZoneSerial` a name (`_serial.corp.example.com`): a TXT record of
    /// that name in the hosted zone holds the serial. For a hosted zone
    /// whose apex is not the domain (a parent zone, or several reverse
    /// zones in one), where the SOA is not the primary's to describe.
    Txt(String),
}

impl SerialStore {
    /// The record set's key, and the type to ask for.
    fn key(&self, domain: &str) -> Key {
        match self {
            SerialStore::Soa => (normalize_name(domain), "SOA".into()),
            SerialStore::Txt(name) => (normalize_name(name), "TXT".into()),
        }
    }
}

/// The serial as stored, with the record set it is in (rewritten on
/// update).
#[derive(Debug, Clone)]
pub struct StoredSerial {
    pub serial: Option<u32>,
    pub set: Option<RecordSet>,
}

fn sdk_error<E: std::error::Error + 'static>(what: &str, e: E) -> String {
    format!("{what}: {}", DisplayErrorContext(e))
}

impl HostedZone {
    pub fn new(client: aws_sdk_route53::Client, zone_id: &str) -> HostedZone {
        let id = zone_id
            .trim()
            .trim_start_matches("/hostedzone/")
            .to_string();
        HostedZone { client, id }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Every record set of the zone (ListResourceRecordSets, page by page).
    pub async fn list(&self) -> Result<Vec<ResourceRecordSet>, String> {
        let mut out = Vec::new();
        let mut next: Option<(String, RrType, Option<String>)> = None;
        loop {
            let mut req = self
                .client
                .list_resource_record_sets()
                .hosted_zone_id(&self.id);
            if let Some((name, rtype, ident)) = next.take() {
                req = req
                    .start_record_name(name)
                    .start_record_type(rtype)
                    .set_start_record_identifier(ident);
            }
            let page = req
                .send()
                .await
                .map_err(|e| sdk_error("ListResourceRecordSets", e))?;
            out.extend(page.resource_record_sets().iter().cloned());
            match (
                page.is_truncated(),
                page.next_record_name(),
                page.next_record_type(),
            ) {
                (true, Some(name), Some(rtype)) => {
                    next = Some((
                        name.to_string(),
                        rtype.clone(),
                        page.next_record_identifier().map(str::to_string),
                    ))
                }
                _ => return Ok(out),
            }
        }
    }

    /// The mirrored serial: one ListResourceRecordSets of one item.
    pub async fn stored_serial(
        &self,
        domain: &str,
        store: &SerialStore,
    ) -> Result<StoredSerial, String> {
        let key = store.key(domain);
        let page = self
            .client
            .list_resource_record_sets()
            .hosted_zone_id(&self.id)
            .start_record_name(&key.0)
            .start_record_type(RrType::from(key.1.as_str()))
            .max_items(1)
            .send()
            .await
            .map_err(|e| sdk_error("ListResourceRecordSets", e))?;
        let set = page
            .resource_record_sets()
            .iter()
            .filter(|s| s.alias_target().is_none() && s.set_identifier().is_none())
            .map(record_set)
            .find(|s| s.key() == key);
        let serial = match (&set, store) {
            (None, SerialStore::Soa) => {
                return Err(format!(
                    "hosted zone {} has no SOA at {}: its apex is another name; \
                     set ZoneSerial to a record name to keep the serial in",
                    self.id, key.0
                ));
            }
            (None, SerialStore::Txt(_)) => None,
            (Some(s), SerialStore::Soa) => s
                .values
                .first()
                .and_then(|v| soa_fields(v))
                .and_then(|f| f[2].parse().ok()),
            (Some(s), SerialStore::Txt(_)) => s
                .values
                .first()
                .and_then(|v| v.trim_matches('"').parse().ok()),
        };
        Ok(StoredSerial { serial, set })
    }

    /// The change that stores `serial`.
    pub fn serial_change(
        &self,
        domain: &str,
        store: &SerialStore,
        stored: &StoredSerial,
        serial: u32,
    ) -> Change {
        let key = store.key(domain);
        let set = match (store, &stored.set) {
            (SerialStore::Soa, Some(soa)) => {
                let mut set = soa.clone();
                set.values = soa
                    .values
                    .iter()
                    .map(|v| match soa_fields(v) {
                        Some(mut f) => {
                            f[2] = serial.to_string();
                            f.join(" ")
                        }
                        None => v.clone(),
                    })
                    .collect();
                set
            }
            (_, Some(txt)) => RecordSet {
                values: vec![format!("\"{serial}\"")],
                ..txt.clone()
            },
            (_, None) => RecordSet {
                name: key.0,
                rtype: key.1,
                ttl: 300,
                values: vec![format!("\"{serial}\"")],
            },
        };
        Change {
            action: Action::Upsert,
            set,
        }
    }

    /// Applies one batch with one ChangeResourceRecordSets request.
    pub async fn apply(&self, changes: &[Change], comment: &str) -> Result<(), String> {
        let mut out = Vec::with_capacity(changes.len());
        for c in changes {
            let records = c
                .set
                .values
                .iter()
                .map(|v| ResourceRecord::builder().value(v).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.to_string())?;
            let set = ResourceRecordSet::builder()
                .name(&c.set.name)
                .r#type(RrType::from(c.set.rtype.as_str()))
                .ttl(i64::from(c.set.ttl))
                .set_resource_records(Some(records))
                .build()
                .map_err(|e| e.to_string())?;
            let action = match c.action {
                Action::Create => ChangeAction::Create,
                Action::Upsert => ChangeAction::Upsert,
                Action::Delete => ChangeAction::Delete,
            };
            out.push(
                r53::Change::builder()
                    .action(action)
                    .resource_record_set(set)
                    .build()
                    .map_err(|e| e.to_string())?,
            );
        }
        let batch = ChangeBatch::builder()
            .comment(comment)
            .set_changes(Some(out))
            .build()
            .map_err(|e| e.to_string())?;
        self.client
            .change_resource_record_sets()
            .hosted_zone_id(&self.id)
            .change_batch(batch)
            .send()
            .await
            .map_err(|e| sdk_error("ChangeResourceRecordSets", e))?;
        Ok(())
    }
}

/// An SOA value's seven fields (`mname rname serial refresh retry expire
/// minimum`), the five numbers checked. Read from the value's last seven
/// words with quotes and braces trimmed: moto lists the SOA it makes for a
/// new zone as a Python dict's text (`{'Value': 'ns-2048... 1 7200 ...'}`);
/// the value written back is the plain form.
pub fn soa_fields(value: &str) -> Option<Vec<String>> {
    let words: Vec<&str> = value.split_whitespace().collect();
    let last = words.get(words.len().checked_sub(7)?..)?;
    let fields: Vec<String> = last
        .iter()
        .map(|w| {
            w.trim_matches(|c| matches!(c, '\'' | '"' | '{' | '}'))
                .to_string()
        })
        .collect();
    fields[2..]
        .iter()
        .all(|n| n.parse::<u32>().is_ok())
        .then_some(fields)
}

/// A listed set in our form (an alias has no values).
pub fn record_set(s: &ResourceRecordSet) -> RecordSet {
    let mut values: Vec<String> = s
        .resource_records()
        .iter()
        .map(|r| r.value().to_string())
        .collect();
    values.sort();
    RecordSet {
        name: s.name().to_string(),
        rtype: s.r#type().as_str().to_string(),
        ttl: s.ttl().and_then(|t| u32::try_from(t).ok()).unwrap_or(0),
        values,
    }
}

/// The listed sets this mirror manages: plain (no alias, no routing
/// policy) sets at or below the domain, but not the apex SOA and NS
/// (Route 53's own) nor the serial's TXT record.
pub fn managed(
    sets: &[ResourceRecordSet],
    domain: &str,
    store: &SerialStore,
) -> BTreeMap<Key, RecordSet> {
    let apex = normalize_name(domain);
    let below = format!(".{apex}");
    let serial_key = store.key(domain);
    sets.iter()
        .filter(|s| s.alias_target().is_none() && s.set_identifier().is_none())
        .map(record_set)
        .filter(|s| {
            let (name, rtype) = s.key();
            let in_zone = name == apex || name.ends_with(&below);
            let apex_own = name == apex && (rtype == "SOA" || rtype == "NS");
            in_zone && !apex_own && s.key() != serial_key
        })
        .map(|s| (s.key(), s))
        .collect()
}
