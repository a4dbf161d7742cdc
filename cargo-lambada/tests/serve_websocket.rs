//! `cargo lambada serve` as a WebSocket API: examples/chat (connections in
//! moto's DynamoDB, messages posted through serve's Management API) with
//! two real WebSocket clients (tokio-tungstenite): a refused connect, a
//! broadcast both receive, a close that runs `$disconnect`, the
//! Management API's 410 for a closed connection.

mod serve_support;

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use lambada_test_support::{AWS_ENV, Moto};
use serve_support::{Serve, workspace};
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn join(port: u16, name: &str) -> Socket {
    let url = format!("ws://127.0.0.1:{port}/?name={name}");
    let (socket, res) = tokio::time::timeout(
        Duration::from_secs(600),
        tokio_tungstenite::connect_async(url),
    )
    .await
    .expect("connect within 600 s (the first build)")
    .unwrap_or_else(|e| panic!("{name} cannot connect: {e}"));
    assert_eq!(res.status(), 101);
    socket
}

/// The next text frame, as JSON.
async fn next_json(socket: &mut Socket) -> serde_json::Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await
            .expect("a frame within 30 s")
            .expect("the connection is open")
            .unwrap();
        if let Message::Text(t) = frame {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

async fn members(moto: &Moto) -> Vec<String> {
    let scan = moto
        .dynamodb()
        .scan()
        .table_name("ws-chat")
        .send()
        .await
        .unwrap();
    let mut names: Vec<String> = scan
        .items()
        .iter()
        .filter_map(|i| i.get("name")?.as_s().ok().cloned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn two_clients_chat_through_serve() {
    let moto = Moto::start();
    moto.create_table_with_key("ws-chat", "connectionId").await;
    let manifest = workspace().join("examples/chat/Cargo.toml");
    let endpoint = moto.url();
    let mut env: Vec<(&str, &str)> = AWS_ENV.to_vec();
    env.push(("AWS_ENDPOINT_URL", &endpoint));
    let s = Serve::start(
        &[
            "--manifest-path",
            manifest.to_str().unwrap(),
            "--no-reload",
            "--env",
            "CONNECTIONS_TABLE=ws-chat",
        ],
        &env,
    );

    // `$connect` refuses a connection without a name: the handshake fails
    // with the handler's status.
    let refused = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{}/", s.port)).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => assert_eq!(res.status(), 400),
        other => panic!("a connection without a name must be refused: {other:?}"),
    }

    let mut ada = join(s.port, "ada").await;
    let mut bob = join(s.port, "bob").await;
    assert_eq!(members(&moto).await, ["ada", "bob"]);

    // A message reaches both, through the function and serve's Management API.
    ada.send(Message::text(r#"{"action": "sendmessage", "text": "hi"}"#))
        .await
        .unwrap();
    let said = serde_json::json!({"from": "ada", "text": "hi"});
    assert_eq!(next_json(&mut ada).await, said);
    assert_eq!(next_json(&mut bob).await, said);

    // Anything else is `$default`: the usage, to the sender only.
    bob.send(Message::text("hello?")).await.unwrap();
    assert_eq!(next_json(&mut bob).await["error"], "unknown action");

    // Bob leaves: `$disconnect` removes him; the room is ada's alone.
    bob.close(None).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while members(&moto).await != ["ada"] {
        assert!(
            tokio::time::Instant::now() < deadline,
            "bob is still a member: {:?}\n{}",
            members(&moto).await,
            s.proc.output()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ada.send(Message::text(
        r#"{"action": "sendmessage", "text": "alone"}"#,
    ))
    .await
    .unwrap();
    assert_eq!(
        next_json(&mut ada).await,
        serde_json::json!({"from": "ada", "text": "alone"})
    );
    assert!(s.wait_log("$disconnect -> 200"), "{}", s.proc.output());

    // The Management API: a closed connection is 410 Gone, as on AWS.
    let res = serve_support::send(
        s.port,
        "POST",
        "/@connections/no-such-connection",
        &[],
        bytes::Bytes::from_static(b"x"),
    )
    .await;
    assert_eq!(res.status, 410);
}
