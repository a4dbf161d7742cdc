//! The container health check. The final image has no shell and no curl,
//! so the binary checks itself: `server healthcheck` asks the running
//! server for its health path over loopback and exits non-zero unless the
//! answer is 200.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(2);

/// GETs `path` from the server this process's environment describes
/// (`HOST`, `PORT`, as `lambada::run` reads them; an unspecified `HOST` such
/// as `0.0.0.0` means loopback). `Ok` on a 200.
pub fn probe(path: &str) -> Result<(), lambada::Error> {
    let port: u16 = match std::env::var("PORT") {
        Ok(p) => p
            .parse()
            .map_err(|_| format!("PORT is not a port: `{p}`"))?,
        Err(_) => 8080,
    };
    let host: IpAddr = match std::env::var("HOST") {
        Ok(h) => h.parse().map_err(|_| format!("HOST is not an IP: `{h}`"))?,
        Err(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
    };
    let host = match host {
        IpAddr::V4(a) if a.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(a) if a.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        other => other,
    };
    let addr = SocketAddr::new(host, port);
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: lambada-healthcheck\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = Vec::new();
    stream.take(4096).read_to_end(&mut head)?;
    let status = head.split(|&b| b == b'\r').next().unwrap_or_default();
    let status = String::from_utf8_lossy(status);
    if status.starts_with("HTTP/1.1 200 ") {
        Ok(())
    } else {
        Err(format!("{addr}{path} is unhealthy: `{status}`").into())
    }
}
