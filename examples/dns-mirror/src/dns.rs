//! The primary's side, over TCP only (the one port the article opens): an
//! SOA query and a full zone transfer (AXFR, RFC 5936), each a DNS message
//! with a two-byte length prefix. hickory-proto encodes and decodes the
//! messages; the exchange, its checks and its time limit are here.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Why the primary could not be read. Nothing in Route 53 is changed after
/// any of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferError {
    /// `MasterDns` names no reachable address.
    Address(String),
    /// The TCP connection failed (refused, unreachable).
    Connect(String),
    /// No complete answer within the time limit.
    Timeout(Duration),
    /// The server answered with an error code (`REFUSED` when transfers
    /// are not allowed to us, `NOTAUTH`, `SERVFAIL`...).
    Rcode(String),
    /// The server is not authoritative for the domain (no SOA for it).
    NoSoa,
    /// The transfer ended before its closing SOA, or a message was cut.
    Truncated(String),
    /// A message that does not decode, or does not answer our query.
    Malformed(String),
    /// A read or write on the connection failed.
    Io(String),
}

impl fmt::Display for TransferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransferError::Address(e) => write!(f, "MasterDns: {e}"),
            TransferError::Connect(e) => write!(f, "cannot connect to the primary: {e}"),
            TransferError::Timeout(d) => {
                write!(f, "the primary did not answer within {} s", d.as_secs_f32())
            }
            TransferError::Rcode(r) => write!(f, "the primary answered {r}"),
            TransferError::NoSoa => {
                write!(
                    f,
                    "the primary has no SOA for the domain (not authoritative)"
                )
            }
            TransferError::Truncated(e) => write!(f, "zone transfer truncated: {e}"),
            TransferError::Malformed(e) => write!(f, "bad answer from the primary: {e}"),
            TransferError::Io(e) => write!(f, "connection to the primary failed: {e}"),
        }
    }
}

impl std::error::Error for TransferError {}

/// The primary's address: `10.0.0.1` (port 53), `127.0.0.1:5353`,
/// `[::1]:5353`, `ns1.corp.example` or `ns1.corp.example:5353`.
pub async fn resolve(master: &str) -> Result<SocketAddr, TransferError> {
    let master = master.trim();
    if let Ok(addr) = master.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Ok(ip) = master.trim_matches(['[', ']']).parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    let with_port = if master
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        master.to_string()
    } else {
        format!("{master}:53")
    };
    tokio::net::lookup_host(&with_port)
        .await
        .map_err(|e| TransferError::Address(format!("{master}: {e}")))?
        .next()
        .ok_or_else(|| TransferError::Address(format!("{master}: no address")))
}

/// The domain as a fully qualified name.
pub fn zone_name(domain: &str) -> Result<Name, String> {
    let mut name = Name::from_ascii(domain.trim()).map_err(|e| format!("{domain}: {e}"))?;
    name.set_fqdn(true);
    Ok(name.to_lowercase())
}

/// The serial of the primary's SOA for `zone`.
pub async fn soa_serial(
    server: SocketAddr,
    zone: &Name,
    limit: Duration,
) -> Result<u32, TransferError> {
    tokio::time::timeout(limit, async {
        let mut conn = connect(server).await?;
        let id = send_query(&mut conn, zone, RecordType::SOA).await?;
        let msg = read_message(&mut conn, id)
            .await?
            .ok_or_else(|| TransferError::Truncated("closed before the SOA answer".into()))?;
        msg.answers()
            .iter()
            .find_map(|r| match r.data() {
                RData::SOA(soa) if r.name().to_lowercase() == *zone => Some(soa.serial()),
                _ => None,
            })
            .ok_or(TransferError::NoSoa)
    })
    .await
    .map_err(|_| TransferError::Timeout(limit))?
}

/// The whole zone by AXFR: every record of the transfer, the opening SOA
/// first, without the closing copy of it. The transfer counts only when it
/// ends with that closing SOA.
pub async fn axfr(
    server: SocketAddr,
    zone: &Name,
    limit: Duration,
) -> Result<Vec<Record>, TransferError> {
    tokio::time::timeout(limit, async {
        let mut conn = connect(server).await?;
        let id = send_query(&mut conn, zone, RecordType::AXFR).await?;
        let mut records: Vec<Record> = Vec::new();
        let mut serial = None;
        loop {
            let Some(mut msg) = read_message(&mut conn, id).await? else {
                return Err(TransferError::Truncated(format!(
                    "the connection closed after {} records, before the closing SOA",
                    records.len()
                )));
            };
            for record in msg.take_answers() {
                let soa_serial = match record.data() {
                    RData::SOA(soa) if record.name().to_lowercase() == *zone => Some(soa.serial()),
                    _ => None,
                };
                match (serial, soa_serial) {
                    (None, Some(s)) => {
                        serial = Some(s);
                        records.push(record);
                    }
                    (None, None) => {
                        return Err(TransferError::Malformed(
                            "the transfer does not start with the zone's SOA".into(),
                        ));
                    }
                    (Some(first), Some(last)) => {
                        if first != last {
                            return Err(TransferError::Malformed(format!(
                                "the zone changed during the transfer (serial {first}, then {last})"
                            )));
                        }
                        return Ok(records);
                    }
                    (Some(_), None) => records.push(record),
                }
            }
        }
    })
    .await
    .map_err(|_| TransferError::Timeout(limit))?
}

async fn connect(server: SocketAddr) -> Result<TcpStream, TransferError> {
    TcpStream::connect(server)
        .await
        .map_err(|e| TransferError::Connect(format!("{server}: {e}")))
}

async fn send_query(
    conn: &mut TcpStream,
    zone: &Name,
    rtype: RecordType,
) -> Result<u16, TransferError> {
    let id = query_id();
    let mut msg = Message::new();
    msg.set_id(id)
        .set_message_type(MessageType::Query)
        .set_op_code(OpCode::Query)
        .set_recursion_desired(false)
        .add_query(Query::query(zone.clone(), rtype));
    let bytes = msg
        .to_vec()
        .map_err(|e| TransferError::Malformed(format!("encoding the query: {e}")))?;
    let len = u16::try_from(bytes.len()).expect("a one-question query fits a TCP message");
    let mut framed = Vec::with_capacity(bytes.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(&bytes);
    conn.write_all(&framed)
        .await
        .map_err(|e| TransferError::Io(e.to_string()))?;
    Ok(id)
}

/// The next message, `None` on a clean end of stream before its length.
async fn read_message(conn: &mut TcpStream, id: u16) -> Result<Option<Message>, TransferError> {
    let mut len = [0u8; 2];
    match conn.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(TransferError::Io(e.to_string())),
    }
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    conn.read_exact(&mut buf).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            TransferError::Truncated("the connection closed inside a message".into())
        } else {
            TransferError::Io(e.to_string())
        }
    })?;
    let msg = Message::from_vec(&buf).map_err(|e| TransferError::Malformed(e.to_string()))?;
    if msg.id() != id || msg.message_type() != MessageType::Response {
        return Err(TransferError::Malformed(format!(
            "a message that does not answer query {id}"
        )));
    }
    if msg.response_code() != ResponseCode::NoError {
        return Err(TransferError::Rcode(msg.response_code().to_string()));
    }
    if msg.truncated() {
        return Err(TransferError::Truncated("a message has the TC bit".into()));
    }
    Ok(Some(msg))
}

/// A query ID that differs between runs (no cryptographic need: the
/// exchange is over one TCP connection of our own).
fn query_id() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.finish() as u16
}
