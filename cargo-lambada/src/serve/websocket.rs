//! The WebSocket API in front of the function, as `cargo lambada serve`
//! plays it: a WebSocket upgrade on serve's own port becomes a `$connect`
//! event (a non-2xx answer refuses the connection), each text or binary
//! frame a message event routed by the app's selection expression, the
//! close a `$disconnect` event, all run by the real bootstrap. The
//! Management API of the stage answers on the same port
//! (`POST | GET | DELETE /@connections/{id}`, API Gateway's paths), and
//! the bootstrap is pointed at it (`LAMBADA_WS_ENDPOINT`), so
//! `Connections::post` reaches the right client locally. A frame to a
//! closed connection is a 410, as on AWS.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Method, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use lambada::test::{TestResponse, WsEvent};
use lambada::websocket::{WsEventType, select_route};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, frame::coding::CloseCode};

use crate::emulator::{Reply, ids};
use crate::manifest::WebSocketManifest;

/// API Gateway's limit on a WebSocket frame (and a posted message).
const MAX_FRAME: usize = 128 * 1024;

/// What to do with a connection, from the Management API.
#[derive(Debug)]
enum Out {
    Send(Message),
    Close,
}

#[derive(Debug)]
struct Conn {
    out: mpsc::UnboundedSender<Out>,
    connected_at: i64,
    last_active_at: i64,
    source_ip: String,
    user_agent: String,
}

/// The open connections of the served WebSocket API.
#[derive(Debug, Default)]
pub struct Hub {
    conns: Mutex<HashMap<String, Conn>>,
}

/// What one WebSocket connection needs from serve.
pub struct Upgrade {
    pub shared: Arc<super::Shared>,
    pub generation: Arc<super::Generation>,
    pub websocket: WebSocketManifest,
    pub peer: std::net::IpAddr,
}

fn now_ms() -> i64 {
    i64::try_from(ids::now_ms()).unwrap_or(i64::MAX)
}

/// Whether `req` asks for a WebSocket upgrade (RFC 6455 §4.2.1).
pub fn is_upgrade<B>(req: &http::Request<B>) -> bool {
    let has = |name: &str, token: &str| {
        req.headers().get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    req.method() == Method::GET
        && has("upgrade", "websocket")
        && has("connection", "upgrade")
        && req.headers().contains_key("sec-websocket-key")
}

/// An id like API Gateway's (`L0SM9cOFvHcCIhw=`).
fn connection_id() -> String {
    use base64::Engine as _;
    let raw: Vec<u8> = ids::hex(22)
        .as_bytes()
        .chunks(2)
        .map(|h| u8::from_str_radix(std::str::from_utf8(h).unwrap_or("0"), 16).unwrap_or(0))
        .collect();
    base64::engine::general_purpose::STANDARD.encode(raw)
}

impl Upgrade {
    fn event(&self, event_type: WsEventType, id: &str, connected_at: i64) -> WsEvent {
        let mut ev = WsEvent::new(event_type, id);
        ev.domain_name = format!("127.0.0.1:{}", self.shared.port);
        ev.api_id = "local".into();
        ev.stage = self.shared.stage.clone();
        ev.request_id = ids::request_id();
        ev.connected_at = connected_at;
        ev.source_ip = self.peer.to_string();
        ev
    }
}

/// Answers an upgrade request: the `$connect` event first (its non-2xx
/// answer is the refusal the client gets), then 101 and the connection's
/// own task. The status and a note for serve's log line.
pub async fn upgrade(
    up: Upgrade,
    req: http::Request<Incoming>,
) -> (http::Response<Bytes>, Option<String>) {
    let id = connection_id();
    let connected_at = now_ms();
    let mut connect = up.event(WsEventType::Connect, &id, connected_at);
    connect.headers = req.headers().clone();
    connect.query = req
        .uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let answer = up
        .generation
        .pool
        .invoke(Bytes::from(connect.to_json()))
        .await;
    if let Some(refusal) = refused(answer) {
        let note = format!("$connect refused ({})", refusal.status().as_u16());
        return (refusal, Some(note));
    }
    let Some(key) = req.headers().get("sec-websocket-key").cloned() else {
        return (plain(StatusCode::BAD_REQUEST, "no Sec-WebSocket-Key"), None);
    };
    let user_agent = req
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let (tx, rx) = mpsc::unbounded_channel();
    up.shared
        .hub
        .conns
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            id.clone(),
            Conn {
                out: tx,
                connected_at,
                last_active_at: connected_at,
                source_ip: up.peer.to_string(),
                user_agent,
            },
        );
    let task = Session {
        shared: up.shared.clone(),
        websocket: up.websocket.clone(),
        template: up.event(WsEventType::Message, &id, connected_at),
        id: id.clone(),
    };
    tokio::spawn(async move {
        match hyper::upgrade::on(req).await {
            Ok(upgraded) => {
                let ws =
                    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None)
                        .await;
                task.run(ws, rx).await;
            }
            Err(e) => {
                eprintln!("lambada: WebSocket {}: the upgrade failed: {e}", task.id);
                task.shared.hub.remove(&task.id);
            }
        }
    });
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    let mut res = http::Response::new(Bytes::new());
    *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = res.headers_mut();
    h.insert(
        http::header::UPGRADE,
        http::HeaderValue::from_static("websocket"),
    );
    h.insert(
        http::header::CONNECTION,
        http::HeaderValue::from_static("Upgrade"),
    );
    if let Ok(v) = http::HeaderValue::from_str(&accept) {
        h.insert("sec-websocket-accept", v);
    }
    (res, Some(format!("WebSocket connection {id} open")))
}

/// The refusal of a `$connect` answer: a function error or fault is a
/// 500, a non-2xx status that status; `None` lets the client in.
fn refused(answer: Result<Reply, crate::emulator::Fault>) -> Option<http::Response<Bytes>> {
    match answer {
        Ok(Reply::Response(payload)) => {
            let status = TestResponse::try_decode(&payload)
                .map(|r| r.status())
                .unwrap_or(StatusCode::OK);
            (!status.is_success()).then(|| plain(status, ""))
        }
        Ok(Reply::Stream(_)) => Some(plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "$connect answered with a stream",
        )),
        Ok(Reply::Error(e)) => {
            eprintln!(
                "lambada: $connect: function error {}: {}",
                e.error_type,
                e.message()
            );
            Some(plain(StatusCode::INTERNAL_SERVER_ERROR, ""))
        }
        Err(fault) => {
            eprintln!("lambada: $connect: {fault}");
            Some(plain(StatusCode::INTERNAL_SERVER_ERROR, ""))
        }
    }
}

fn plain(status: StatusCode, message: &str) -> http::Response<Bytes> {
    let mut res = http::Response::new(Bytes::from(
        serde_json::json!({ "message": message }).to_string(),
    ));
    *res.status_mut() = status;
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    res
}

/// One open connection.
struct Session {
    shared: Arc<super::Shared>,
    websocket: WebSocketManifest,
    template: WsEvent,
    id: String,
}

impl Session {
    async fn invoke(&self, ev: &WsEvent, what: &str) {
        // The build being served now (a reload may have replaced the one
        // that took the connection).
        let generation = match &*self.shared.phase.borrow() {
            super::Phase::Ready(g) => Some(g.clone()),
            super::Phase::Building => None,
        };
        let Some(generation) = generation else {
            eprintln!("lambada: WebSocket {}: {what}: no build is ready", self.id);
            return;
        };
        match generation.pool.invoke(Bytes::from(ev.to_json())).await {
            Ok(Reply::Response(payload)) => {
                let status = TestResponse::try_decode(&payload).map(|r| r.status());
                eprintln!(
                    "lambada: WebSocket {} {what} -> {}",
                    self.id,
                    status.map_or("?".into(), |s| s.as_u16().to_string())
                );
            }
            Ok(Reply::Error(e)) => eprintln!(
                "lambada: WebSocket {} {what}: function error {}: {}",
                self.id,
                e.error_type,
                e.message()
            ),
            Ok(Reply::Stream(_)) => {
                eprintln!("lambada: WebSocket {} {what}: a streamed answer", self.id)
            }
            Err(fault) => eprintln!("lambada: WebSocket {} {what}: {fault}", self.id),
        }
    }

    async fn run(
        self,
        mut ws: WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>,
        mut out: mpsc::UnboundedReceiver<Out>,
    ) {
        use futures_util::{SinkExt as _, StreamExt as _};
        let keys: Vec<&str> = self
            .websocket
            .routes
            .iter()
            .map(|r| r.route_key.as_str())
            .collect();
        let mut close_code: Option<i64> = None;
        loop {
            tokio::select! {
                frame = ws.next() => {
                    let frame = match frame {
                        Some(Ok(f)) => f,
                        Some(Err(_)) | None => { close_code = close_code.or(Some(1006)); break }
                    };
                    let (body, binary) = match frame {
                        Message::Text(t) => (t.as_str().to_owned(), false),
                        Message::Binary(b) => {
                            use base64::Engine as _;
                            (base64::engine::general_purpose::STANDARD.encode(&b), true)
                        }
                        Message::Close(c) => {
                            close_code = Some(c.map_or(1005, |c| i64::from(u16::from(c.code))));
                            break;
                        }
                        _ => continue,
                    };
                    if body.len() > MAX_FRAME {
                        let _ = ws.send(Message::Close(Some(CloseFrame {
                            code: CloseCode::Size,
                            reason: "Message too long".into(),
                        }))).await;
                        close_code = Some(1009);
                        break;
                    }
                    self.shared.hub.touch(&self.id);
                    let raw = if binary { Vec::new() } else { body.clone().into_bytes() };
                    let key = select_route(&self.websocket.route_selection, &raw, &keys).into_owned();
                    if !keys.contains(&key.as_str()) {
                        // No route and no $default: API Gateway answers so.
                        let _ = ws.send(Message::text(
                            serde_json::json!({"message": "Forbidden", "connectionId": self.id}).to_string(),
                        )).await;
                        continue;
                    }
                    let mut ev = self.template.clone();
                    ev.request_id = ids::request_id();
                    ev.request_time_epoch = now_ms();
                    ev.route_key = key.clone();
                    ev.body = Some(body);
                    ev.is_base64_encoded = binary;
                    self.invoke(&ev, &key).await;
                }
                next = out.recv() => match next {
                    Some(Out::Send(m)) => {
                        if ws.send(m).await.is_err() {
                            close_code = Some(1006);
                            break;
                        }
                    }
                    Some(Out::Close) | None => {
                        let _ = ws.send(Message::Close(Some(CloseFrame {
                            code: CloseCode::Normal,
                            reason: "".into(),
                        }))).await;
                        close_code = Some(1000);
                        break;
                    }
                },
            }
        }
        // Gone before the disconnect event runs: posting to it is a 410.
        self.shared.hub.remove(&self.id);
        let mut ev = self.template.clone();
        ev.event_type = WsEventType::Disconnect;
        ev.route_key = "$disconnect".into();
        ev.request_id = ids::request_id();
        ev.request_time_epoch = now_ms();
        ev.disconnect_status_code = close_code;
        if keys.contains(&"$disconnect") {
            self.invoke(&ev, "$disconnect").await;
        }
    }
}

impl Hub {
    fn remove(&self, id: &str) {
        self.conns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    fn touch(&self, id: &str) {
        if let Some(c) = self
            .conns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(id)
        {
            c.last_active_at = now_ms();
        }
    }

    /// Answers a Management API request (`/@connections/{id}`), as API
    /// Gateway does: 200 for a post, the connection's facts for a get, 204
    /// for a delete, 410 Gone for a connection that is not open, 413 for a
    /// message over 128 KB.
    pub fn manage(&self, method: &Method, id: &str, body: Bytes) -> http::Response<Bytes> {
        let conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        let Some(conn) = conns.get(id) else {
            return plain(StatusCode::GONE, "");
        };
        match *method {
            Method::POST => {
                if body.len() > MAX_FRAME {
                    return plain(StatusCode::PAYLOAD_TOO_LARGE, "Message too long");
                }
                let msg = match String::from_utf8(body.to_vec()) {
                    Ok(text) => Message::text(text),
                    Err(e) => Message::binary(e.into_bytes()),
                };
                match conn.out.send(Out::Send(msg)) {
                    Ok(()) => http::Response::new(Bytes::new()),
                    Err(_) => plain(StatusCode::GONE, ""),
                }
            }
            Method::GET => {
                let iso = |ms: i64| {
                    let (y, mo, d, h, mi, s) = ids::civil(u64::try_from(ms).unwrap_or(0));
                    format!(
                        "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}Z",
                        ms % 1000
                    )
                };
                let mut res = http::Response::new(Bytes::from(
                    serde_json::json!({
                        "connectedAt": iso(conn.connected_at),
                        "lastActiveAt": iso(conn.last_active_at),
                        "identity": {"sourceIp": conn.source_ip, "userAgent": conn.user_agent},
                    })
                    .to_string(),
                ));
                res.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("application/json"),
                );
                res
            }
            Method::DELETE => {
                let _ = conn.out.send(Out::Close);
                let mut res = http::Response::new(Bytes::new());
                *res.status_mut() = StatusCode::NO_CONTENT;
                res
            }
            _ => plain(StatusCode::METHOD_NOT_ALLOWED, "use POST, GET or DELETE"),
        }
    }
}

/// The connection id of a Management API path (`/@connections/{id}`, the
/// id URL-decoded), if it is one.
pub fn management_id(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/@connections/")?;
    if rest.is_empty() || rest.contains('/') {
        return None;
    }
    percent_encoding::percent_decode_str(rest)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn management_paths() {
        assert_eq!(
            management_id("/@connections/abc%3D").as_deref(),
            Some("abc=")
        );
        assert_eq!(management_id("/@connections/"), None);
        assert_eq!(management_id("/@connections/a/b"), None);
        assert_eq!(management_id("/items"), None);
    }

    #[test]
    fn ids_look_like_api_gateways() {
        let id = connection_id();
        assert_eq!(id.len(), 16);
        assert!(id.ends_with('='));
        assert_ne!(id, connection_id());
    }

    #[test]
    fn upgrades_are_recognised() {
        let req = http::Request::get("/")
            .header("upgrade", "websocket")
            .header("connection", "keep-alive, Upgrade")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .body(())
            .unwrap();
        assert!(is_upgrade(&req));
        let plain = http::Request::get("/").body(()).unwrap();
        assert!(!is_upgrade(&plain));
    }
}
