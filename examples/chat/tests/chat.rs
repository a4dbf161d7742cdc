//! The chat's handlers through the test client: connections stored in
//! moto's DynamoDB, messages posted to a Management API endpoint served by
//! this test (a hyper server on loopback that records each post and
//! answers 410 Gone for connections it is told are closed).

use std::collections::HashSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use chat::{Room, Said};
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lambada::test::Client;
use lambada_test_support::Moto;

/// What the Management API endpoint saw: (connection id, body).
#[derive(Default)]
struct Endpoint {
    posts: Vec<(String, String)>,
    gone: HashSet<String>,
}

/// One endpoint for the whole test binary: `LAMBADA_WS_ENDPOINT` is
/// process-wide.
fn endpoint() -> &'static Arc<Mutex<Endpoint>> {
    static ENDPOINT: OnceLock<Arc<Mutex<Endpoint>>> = OnceLock::new();
    ENDPOINT.get_or_init(|| {
        let state = Arc::new(Mutex::new(Endpoint::default()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let shared = state.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let (stream, _) = listener.accept().await.unwrap();
                    let shared = shared.clone();
                    let svc = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let shared = shared.clone();
                        async move {
                            let id = req
                                .uri()
                                .path()
                                .strip_prefix("/@connections/")
                                .unwrap_or_default()
                                .to_owned();
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let mut s = shared.lock().unwrap();
                            let status = if s.gone.contains(&id) { 410 } else { 200 };
                            s.posts
                                .push((id, String::from_utf8_lossy(&body).into_owned()));
                            Ok::<_, Infallible>(
                                http::Response::builder()
                                    .status(status)
                                    .body(Full::new(Bytes::new()))
                                    .unwrap(),
                            )
                        }
                    });
                    tokio::spawn(async move {
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), svc)
                            .await;
                    });
                }
            });
        });
        // SAFETY: every test calls `endpoint()` before anything else, so
        // the others wait in `get_or_init` while this one sets the
        // variable: no thread reads the environment meanwhile.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var("LAMBADA_WS_ENDPOINT", format!("http://{addr}"));
        }
        state
    })
}

async fn room() -> (Moto, Room, Client) {
    let moto = Moto::start();
    moto.create_table_with_key("chat", "connectionId").await;
    let room = Room::new(moto.dynamodb(), "chat");
    let client = Client::new(chat::app(room.clone()));
    (moto, room, client)
}

#[tokio::test]
async fn members_join_talk_and_leave() {
    let ep = endpoint();
    let (_moto, room, client) = room().await;
    for (id, name) in [("conn-ada", "ada"), ("conn-bob", "bob")] {
        let res = client.ws_connect(id).query("name", name).send().await;
        assert_eq!(res.status(), 200);
    }
    let members = room.members().await.unwrap();
    assert_eq!(members.get("conn-ada").map(String::as_str), Some("ada"));
    assert_eq!(members.len(), 2);

    let res = client
        .ws_message("conn-ada", r#"{"action":"sendmessage","text":"hi"}"#)
        .send()
        .await;
    assert_eq!(res.status(), 200);
    let mut posted: Vec<(String, Said)> = ep
        .lock()
        .unwrap()
        .posts
        .iter()
        .filter(|(id, _)| id == "conn-ada" || id == "conn-bob")
        .map(|(id, body)| (id.clone(), serde_json::from_str(body).unwrap()))
        .collect();
    posted.sort_by(|a, b| a.0.cmp(&b.0));
    let said = || Said {
        from: "ada".into(),
        text: "hi".into(),
    };
    assert_eq!(
        posted,
        [("conn-ada".into(), said()), ("conn-bob".into(), said())]
    );

    let res = client.ws_disconnect("conn-bob").send().await;
    assert_eq!(res.status(), 200);
    assert_eq!(room.members().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_connection_without_a_name_is_refused() {
    endpoint();
    let (_moto, room, client) = room().await;
    for query in [None, Some(""), Some("a\u{7}b"), Some(&*"x".repeat(33))] {
        let mut req = client.ws_connect("conn-x");
        if let Some(q) = query {
            req = req.query("name", q);
        }
        assert_eq!(req.send().await.status(), 400, "{query:?}");
    }
    assert!(room.members().await.unwrap().is_empty());
}

#[tokio::test]
async fn members_whose_connection_is_gone_are_removed() {
    let ep = endpoint();
    ep.lock().unwrap().gone.insert("conn-gone".into());
    let (_moto, room, client) = room().await;
    room.join("conn-here", "here").await.unwrap();
    room.join("conn-gone", "gone").await.unwrap();
    let res = client
        .ws_message("conn-here", r#"{"action":"sendmessage","text":"anyone?"}"#)
        .send()
        .await;
    assert_eq!(res.status(), 200);
    let members = room.members().await.unwrap();
    assert!(members.contains_key("conn-here"));
    assert!(!members.contains_key("conn-gone"), "{members:?}");
}

#[tokio::test]
async fn strangers_cannot_speak_and_other_actions_get_the_usage() {
    let ep = endpoint();
    let (_moto, _room, client) = room().await;
    let res = client
        .ws_message("conn-stranger", r#"{"action":"sendmessage","text":"hi"}"#)
        .send()
        .await;
    assert_eq!(res.status(), 403);
    let res = client
        .ws_message("conn-lost", r#"{"action":"dance"}"#)
        .send()
        .await;
    assert_eq!(res.status(), 200);
    let posts = ep.lock().unwrap().posts.clone();
    let (_, usage) = posts
        .iter()
        .find(|(id, _)| id == "conn-lost")
        .expect("the usage was posted to the sender");
    assert!(usage.contains("unknown action"), "{usage}");
}
