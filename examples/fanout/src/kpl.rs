//! Records aggregated by the Kinesis Producer Library: the magic bytes
//! `F3 89 9A C2`, a protobuf `AggregatedRecord`, and the MD5 of the
//! protobuf bytes. A record that does not have this shape (or whose MD5
//! does not match) is a plain record, as the KCL treats it.
//!
//! ```proto
//! message AggregatedRecord {
//!   repeated string partition_key_table     = 1;
//!   repeated string explicit_hash_key_table = 2;
//!   repeated Record records                 = 3;
//! }
//! message Record {
//!   required uint64 partition_key_index     = 1;
//!   optional uint64 explicit_hash_key_index = 2;
//!   required bytes  data                    = 3;
//!   repeated Tag    tags                    = 4;
//! }
//! ```

use bytes::Bytes;
use md5::{Digest, Md5};

/// The first four bytes of an aggregated record.
pub const MAGIC: [u8; 4] = [0xF3, 0x89, 0x9A, 0xC2];

/// One user record of an aggregated record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Its partition key (from the partition key table).
    pub partition_key: String,
    /// Its explicit hash key, when it has one.
    pub explicit_hash_key: Option<String>,
    /// Its data.
    pub data: Bytes,
}

/// The user records of `data` when it is a KPL aggregated record, `None`
/// when it is a plain record (no magic, bad MD5, or not the protobuf).
pub fn deaggregate(data: &[u8]) -> Option<Vec<UserRecord>> {
    if data.len() < MAGIC.len() + 16 || data[..4] != MAGIC {
        return None;
    }
    let (message, digest) = data[4..].split_at(data.len() - 4 - 16);
    if Md5::digest(message).as_slice() != digest {
        return None;
    }
    decode(message)
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Option<u64> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let (&b, rest) = self.buf.split_first()?;
            self.buf = rest;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.varint()?).ok()?;
        if len > self.buf.len() {
            return None;
        }
        let (b, rest) = self.buf.split_at(len);
        self.buf = rest;
        Some(b)
    }

    /// The next field: number and wire type; skips nothing.
    fn key(&mut self) -> Option<Option<(u64, u8)>> {
        if self.buf.is_empty() {
            return Some(None);
        }
        let k = self.varint()?;
        Some(Some((k >> 3, (k & 7) as u8)))
    }

    fn skip(&mut self, wire: u8) -> Option<()> {
        match wire {
            0 => self.varint().map(|_| ()),
            1 => self.advance(8),
            2 => self.bytes().map(|_| ()),
            5 => self.advance(4),
            _ => None,
        }
    }

    fn advance(&mut self, n: usize) -> Option<()> {
        if n > self.buf.len() {
            return None;
        }
        self.buf = &self.buf[n..];
        Some(())
    }
}

fn decode(message: &[u8]) -> Option<Vec<UserRecord>> {
    let mut r = Reader { buf: message };
    let mut keys = Vec::new();
    let mut hash_keys = Vec::new();
    let mut raw = Vec::new();
    while let Some((field, wire)) = r.key()? {
        match (field, wire) {
            (1, 2) => keys.push(String::from_utf8(r.bytes()?.to_vec()).ok()?),
            (2, 2) => hash_keys.push(String::from_utf8(r.bytes()?.to_vec()).ok()?),
            (3, 2) => raw.push(r.bytes()?),
            (_, w) => r.skip(w)?,
        }
    }
    raw.into_iter()
        .map(|rec| {
            let mut r = Reader { buf: rec };
            let (mut pk, mut ehk, mut data) = (None, None, None);
            while let Some((field, wire)) = r.key()? {
                match (field, wire) {
                    (1, 0) => pk = Some(r.varint()?),
                    (2, 0) => ehk = Some(r.varint()?),
                    (3, 2) => data = Some(r.bytes()?),
                    (_, w) => r.skip(w)?,
                }
            }
            let partition_key = keys.get(usize::try_from(pk?).ok()?)?.clone();
            let explicit_hash_key = match ehk {
                Some(i) => Some(hash_keys.get(usize::try_from(i).ok()?)?.clone()),
                None => None,
            };
            Some(UserRecord {
                partition_key,
                explicit_hash_key,
                data: Bytes::copy_from_slice(data?),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_records_are_not_aggregated() {
        assert_eq!(deaggregate(b"{\"plain\": true}"), None);
        let mut fake = MAGIC.to_vec();
        fake.extend_from_slice(&[0u8; 20]);
        assert_eq!(deaggregate(&fake), None, "the MD5 does not match");
    }
}
