//! Both zones as record sets (one per name and type, as Route 53 keeps
//! them), the difference between them, and that difference cut into
//! `ChangeResourceRecordSets` requests within Route 53's limits.

use std::collections::BTreeMap;
use std::fmt;

use hickory_proto::rr::{Name, RData, Record};

/// One record set: a name, a type, a TTL and its values in Route 53's text
/// form (`10 mail.example.com.`, `"v=spf1 -all"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSet {
    /// The name as written to (or read from) Route 53: a fully qualified
    /// name with its trailing dot.
    pub name: String,
    /// `A`, `MX`, ...
    pub rtype: String,
    pub ttl: u32,
    /// Sorted, without duplicates.
    pub values: Vec<String>,
}

/// What a record set is compared by: its name (lower case, `\052` read as
/// `*`) and type.
pub type Key = (String, String);

impl RecordSet {
    pub fn key(&self) -> Key {
        (normalize_name(&self.name), self.rtype.clone())
    }

    /// The values as compared: names are case-insensitive, text is not.
    fn compared_values(&self) -> Vec<String> {
        let mut v: Vec<String> = match self.rtype.as_str() {
            "TXT" | "SPF" | "CAA" | "NAPTR" => self.values.clone(),
            _ => self.values.iter().map(|v| v.to_ascii_lowercase()).collect(),
        };
        v.sort();
        v.dedup();
        v
    }

    /// The characters of the values, as Route 53 counts them.
    fn chars(&self) -> usize {
        self.values.iter().map(String::len).sum()
    }
}

/// A name as compared: lower case, with a trailing dot, and Route 53's
/// octal escapes (`\052` for `*`) read back.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 1);
    let bytes = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4].iter().all(u8::is_ascii_digit)
        {
            let code = u32::from(bytes[i + 1] - b'0') * 64
                + u32::from(bytes[i + 2] - b'0') * 8
                + u32::from(bytes[i + 3] - b'0');
            if let Some(c) = char::from_u32(code) {
                out.push(c);
                i += 4;
                continue;
            }
        }
        out.push(char::from(bytes[i]));
        i += 1;
    }
    let mut out = out.to_ascii_lowercase();
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// The mirrored zone, as the primary sent it.
#[derive(Debug, Clone, Default)]
pub struct Zone {
    pub sets: BTreeMap<Key, RecordSet>,
    /// Records Route 53 cannot hold, as `name type` (logged, not mirrored).
    pub skipped: Vec<String>,
}

/// Groups an AXFR's records into record sets. The apex SOA and NS are left
/// out: Route 53 keeps its own (the SOA's serial is written separately).
/// A set's TTL is the lowest of its records'.
pub fn zone_from_axfr(zone: &Name, records: &[Record]) -> Zone {
    let mut out = Zone::default();
    let apex = zone.to_lowercase();
    for r in records {
        let name = r.name().to_lowercase();
        if !apex.zone_of(&name) {
            out.skipped
                .push(format!("{name} {} (outside the zone)", r.record_type()));
            continue;
        }
        let rtype = r.record_type().to_string();
        if name == apex && (rtype == "SOA" || rtype == "NS") {
            continue;
        }
        let Some(value) = value_of(r.data()) else {
            out.skipped.push(format!("{name} {rtype}"));
            continue;
        };
        let set = out
            .sets
            .entry((normalize_name(&name.to_ascii()), rtype.clone()))
            .or_insert_with(|| RecordSet {
                name: name.to_ascii(),
                rtype,
                ttl: r.ttl(),
                values: Vec::new(),
            });
        set.ttl = set.ttl.min(r.ttl());
        set.values.push(value);
    }
    for set in out.sets.values_mut() {
        set.values.sort();
        set.values.dedup();
    }
    out.skipped.sort();
    out.skipped.dedup();
    out
}

/// A record's value in Route 53's text form, for the types Route 53 holds.
pub fn value_of(data: &RData) -> Option<String> {
    Some(match data {
        RData::A(a) => a.to_string(),
        RData::AAAA(a) => a.to_string(),
        RData::CNAME(n) => n.0.to_ascii(),
        RData::NS(n) => n.0.to_ascii(),
        RData::PTR(n) => n.0.to_ascii(),
        RData::MX(mx) => format!("{} {}", mx.preference(), mx.exchange().to_ascii()),
        RData::SRV(s) => format!(
            "{} {} {} {}",
            s.priority(),
            s.weight(),
            s.port(),
            s.target().to_ascii()
        ),
        RData::TXT(t) => t
            .txt_data()
            .iter()
            .map(|s| quote(s))
            .collect::<Vec<_>>()
            .join(" "),
        RData::CAA(c) => c.to_string(),
        RData::NAPTR(n) => n.to_string(),
        _ => return None,
    })
}

/// One character-string as Route 53 writes it: in double quotes, `"` and
/// `\` escaped, bytes outside printable ASCII as `\ddd` (octal).
pub fn quote(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for &b in s {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\{b:03o}")),
        }
    }
    out.push('"');
    out
}

/// A change to one record set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    Delete,
    Upsert,
    Create,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Delete => "DELETE",
            Action::Upsert => "UPSERT",
            Action::Create => "CREATE",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub action: Action,
    /// For a DELETE, the set exactly as Route 53 listed it (a delete must
    /// match it); otherwise the set as the primary has it.
    pub set: RecordSet,
}

impl Change {
    /// The ResourceRecord elements the change counts for (an UPSERT counts
    /// twice).
    fn weight(&self) -> (usize, usize) {
        let n = if self.action == Action::Upsert { 2 } else { 1 };
        (n * self.set.values.len(), n * self.set.chars())
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {}",
            self.action,
            self.set.name,
            self.set.ttl,
            self.set.rtype,
            self.set.values.join(" | ")
        )
    }
}

/// What to do to `current` (Route 53's sets, those this mirror manages)
/// so that it holds `wanted` (the primary's): DELETE the sets the primary
/// no longer has, UPSERT those whose values (or TTL, unless `ignore_ttl`)
/// differ, CREATE the new ones; in that order, each sorted by name and type.
pub fn diff(
    wanted: &BTreeMap<Key, RecordSet>,
    current: &BTreeMap<Key, RecordSet>,
    ignore_ttl: bool,
) -> Vec<Change> {
    let mut changes = Vec::new();
    for (key, set) in current {
        if !wanted.contains_key(key) {
            changes.push(Change {
                action: Action::Delete,
                set: set.clone(),
            });
        }
    }
    for (key, set) in wanted {
        match current.get(key) {
            None => changes.push(Change {
                action: Action::Create,
                set: set.clone(),
            }),
            Some(have) => {
                let same_values = have.compared_values() == set.compared_values();
                let same_ttl = ignore_ttl || have.ttl == set.ttl;
                if !(same_values && same_ttl) {
                    changes.push(Change {
                        action: Action::Upsert,
                        set: set.clone(),
                    });
                }
            }
        }
    }
    // Stable: the map order (name, type) is kept within each action.
    changes.sort_by_key(|c| c.action);
    changes
}

/// Route 53's limits for one ChangeResourceRecordSets request.
pub const MAX_RECORDS: usize = 1000;
pub const MAX_CHARS: usize = 32_000;

/// The changes cut into requests, in order, each within `max_records`
/// ResourceRecord elements and `max_chars` characters of values (UPSERTs
/// counting twice). A single change over the limits gets a request of its
/// own (Route 53 then refuses it and says why).
pub fn batches(changes: &[Change], max_records: usize, max_chars: usize) -> Vec<Vec<Change>> {
    let mut out: Vec<Vec<Change>> = Vec::new();
    let mut current: Vec<Change> = Vec::new();
    let (mut records, mut chars) = (0, 0);
    for change in changes {
        let (r, c) = change.weight();
        if !current.is_empty() && (records + r > max_records || chars + c > max_chars) {
            out.push(std::mem::take(&mut current));
            (records, chars) = (0, 0);
        }
        records += r;
        chars += c;
        current.push(change.clone());
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(name: &str, rtype: &str, ttl: u32, values: &[&str]) -> RecordSet {
        RecordSet {
            name: name.into(),
            rtype: rtype.into(),
            ttl,
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    fn map(sets: &[RecordSet]) -> BTreeMap<Key, RecordSet> {
        sets.iter().map(|s| (s.key(), s.clone())).collect()
    }

    #[test]
    fn names_compare_as_route53_writes_them() {
        assert_eq!(normalize_name("\\052.Example.COM."), "*.example.com.");
        assert_eq!(normalize_name("www.example.com"), "www.example.com.");
    }

    #[test]
    fn quotes_text_as_route53_does() {
        assert_eq!(quote(b"v=spf1 -all"), "\"v=spf1 -all\"");
        assert_eq!(quote(b"a\"b\\c\x01"), "\"a\\\"b\\\\c\\001\"");
    }

    #[test]
    fn diff_creates_upserts_and_deletes() {
        let wanted = map(&[
            set("a.example.com.", "A", 300, &["10.0.0.1"]),
            set("b.example.com.", "A", 300, &["10.0.0.2"]),
            set("c.example.com.", "A", 60, &["10.0.0.3"]),
            set("d.example.com.", "CNAME", 300, &["a.example.com."]),
        ]);
        let current = map(&[
            set("A.example.com.", "A", 300, &["10.0.0.1"]),
            set("b.example.com.", "A", 300, &["10.0.0.9"]),
            set("c.example.com.", "A", 300, &["10.0.0.3"]),
            set("gone.example.com.", "TXT", 300, &["\"x\""]),
        ]);
        let changes = diff(&wanted, &current, false);
        let lines: Vec<String> = changes.iter().map(|c| c.to_string()).collect();
        assert_eq!(
            lines,
            [
                "DELETE gone.example.com. 300 TXT \"x\"",
                "UPSERT b.example.com. 300 A 10.0.0.2",
                "UPSERT c.example.com. 60 A 10.0.0.3",
                "CREATE d.example.com. 300 CNAME a.example.com.",
            ]
        );
        // With IgnoreTTL, a TTL alone is no difference.
        let changes = diff(&wanted, &current, true);
        assert!(!changes.iter().any(|c| c.set.name == "c.example.com."));
        assert_eq!(changes.len(), 3);
    }

    #[test]
    fn batches_stay_within_route53_limits() {
        let changes: Vec<Change> = (0..2500)
            .map(|i| Change {
                action: Action::Create,
                set: set(&format!("h{i}.example.com."), "A", 300, &["10.0.0.1"]),
            })
            .collect();
        let b = batches(&changes, MAX_RECORDS, MAX_CHARS);
        assert_eq!(
            b.iter().map(Vec::len).collect::<Vec<_>>(),
            [1000, 1000, 500]
        );

        // UPSERTs count twice; long values cut by characters.
        let long = "x".repeat(250);
        let txt = format!("\"{long}\"");
        let changes: Vec<Change> = (0..300)
            .map(|i| Change {
                action: Action::Upsert,
                set: set(&format!("t{i}.example.com."), "TXT", 300, &[&txt]),
            })
            .collect();
        let b = batches(&changes, MAX_RECORDS, MAX_CHARS);
        for batch in &b {
            let chars: usize = batch.iter().map(|c| c.weight().1).sum();
            let records: usize = batch.iter().map(|c| c.weight().0).sum();
            assert!(
                chars <= MAX_CHARS && records <= MAX_RECORDS,
                "{chars} {records}"
            );
        }
        assert_eq!(b.iter().map(Vec::len).sum::<usize>(), 300);
        assert_eq!(b[0].len(), 63); // 63 × 2 × 252 = 31752
    }
}
