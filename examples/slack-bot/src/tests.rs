use base64::Engine as _;
use lambada::test::{Client, HttpEvent, TestResponse};

use super::*;
use crate::commands::{Block, Reply, ResponseType, Text};
use crate::verify::{Rejection, sign, verify};

// Slack's documented example ("Verifying requests from Slack").
const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const EXAMPLE_TS: &str = "1531420618";
const EXAMPLE_BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
const EXAMPLE_SIG: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

/// The pinned clock: 30 s after the example request was sent.
const NOW: i64 = 1_531_420_648;
fn pinned_clock() -> i64 {
    NOW
}

const FORM: &str = "application/x-www-form-urlencoded";

fn client_with(log: EventLog) -> Client {
    Client::new(app(Config::new(SECRET, pinned_clock), log))
}

fn client() -> Client {
    client_with(EventLog::default())
}

/// Percent-encodes a form value the way Slack does (`+` for spaces).
fn encode(v: &str) -> String {
    let mut out = String::new();
    for b in v.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A slash-command body as Slack sends it, with `text` already encoded.
fn command_body_raw(encoded_text: &str) -> String {
    format!(
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow\
         &channel_id=C2147483705&channel_name=general&user_id=U2CERLKJA&user_name=roadrunner\
         &command=%2Flambada&text={encoded_text}\
         &response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN\
         &trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
}

fn command_body(text: &str) -> String {
    command_body_raw(&encode(text))
}

/// Sends a request signed at `ts` with the test secret.
async fn post_signed_at(
    client: &Client,
    path: &str,
    content_type: &str,
    body: &str,
    kind: EventKind,
    ts: i64,
) -> TestResponse {
    let ts = ts.to_string();
    client
        .post(path)
        .kind(kind)
        .header("Content-Type", content_type)
        .header("X-Slack-Request-Timestamp", &ts)
        .header(
            "X-Slack-Signature",
            &sign(SECRET.as_bytes(), &ts, body.as_bytes()),
        )
        .body(body)
        .send()
        .await
}

async fn post_signed(
    client: &Client,
    path: &str,
    content_type: &str,
    body: &str,
    kind: EventKind,
) -> TestResponse {
    post_signed_at(client, path, content_type, body, kind, NOW).await
}

async fn command(client: &Client, text: &str) -> Reply {
    let res = post_signed(
        client,
        "/slack/commands",
        FORM,
        &command_body(text),
        EventKind::RestV1,
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(res.header("content-type"), Some("application/json"));
    res.json()
}

#[track_caller]
fn assert_bare_401(res: &TestResponse) {
    assert_eq!(res.status(), 401);
    let body: serde_json::Value = res.json();
    assert_eq!(
        body,
        serde_json::json!({"status": 401, "title": "Unauthorized"})
    );
}

fn section_text(block: &Block) -> &str {
    match block {
        Block::Section {
            text: Text::Mrkdwn { text, .. },
        } => text,
        other => panic!("not a section: {other:?}"),
    }
}

// --- the signature scheme ----------------------------------------------------

#[test]
fn slack_documented_example_signature() {
    assert_eq!(
        sign(SECRET.as_bytes(), EXAMPLE_TS, EXAMPLE_BODY.as_bytes()),
        EXAMPLE_SIG
    );
    let sent: i64 = EXAMPLE_TS.parse().unwrap();
    assert_eq!(
        verify(
            SECRET.as_bytes(),
            Some(EXAMPLE_TS),
            Some(EXAMPLE_SIG),
            EXAMPLE_BODY.as_bytes(),
            sent
        ),
        Ok(())
    );
}

#[test]
fn each_rejection() {
    let body = EXAMPLE_BODY.as_bytes();
    let check = |now: i64, ts: Option<&str>, sig: Option<&str>, body: &[u8]| {
        verify(SECRET.as_bytes(), ts, sig, body, now)
    };
    let (ts, sig) = (Some(EXAMPLE_TS), Some(EXAMPLE_SIG));

    assert_eq!(
        check(NOW, None, sig, body),
        Err(Rejection::MissingTimestamp)
    );
    assert_eq!(check(NOW, ts, None, body), Err(Rejection::MissingSignature));
    assert_eq!(
        check(NOW, None, None, body),
        Err(Rejection::MissingTimestamp)
    );
    for bad in [
        "",
        "soon",
        "+1531420618",
        "-1531420618",
        "1531420618.5",
        " 1531420618",
        "99999999999999999999",
    ] {
        assert_eq!(
            check(NOW, Some(bad), sig, body),
            Err(Rejection::MalformedTimestamp),
            "{bad:?}"
        );
    }

    // Five minutes either way, inclusive: older is a replay, newer a clock
    // that cannot be trusted.
    let sent: i64 = EXAMPLE_TS.parse().unwrap();
    assert_eq!(check(sent + 300, ts, sig, body), Ok(()));
    assert_eq!(check(sent - 300, ts, sig, body), Ok(()));
    assert_eq!(check(sent + 301, ts, sig, body), Err(Rejection::Stale));
    assert_eq!(check(sent - 301, ts, sig, body), Err(Rejection::Stale));
    assert_eq!(check(sent + 86_400, ts, sig, body), Err(Rejection::Stale));

    let hex = EXAMPLE_SIG.trim_start_matches("v0=");
    for bad in [
        String::new(),
        hex.to_owned(),
        format!("v1={hex}"),
        format!("V0={hex}"),
        format!("v0={}", &hex[..62]),
        format!("v0={hex}00"),
        format!("v0=zz{}", &hex[2..]),
        format!("v0= {}", &hex[1..]),
    ] {
        assert_eq!(
            check(NOW, ts, Some(&bad), body),
            Err(Rejection::MalformedSignature),
            "{bad:?}"
        );
    }
    // Hex digits in upper case are the same signature.
    assert_eq!(
        check(
            NOW,
            ts,
            Some(&format!("v0={}", hex.to_ascii_uppercase())),
            body
        ),
        Ok(())
    );

    let mut tampered = body.to_vec();
    tampered[0] ^= 0x20; // `token` -> `Token`
    assert_eq!(check(NOW, ts, sig, &tampered), Err(Rejection::Mismatch));
    let mut extended = body.to_vec();
    extended.extend_from_slice(b"&text=rm");
    assert_eq!(check(NOW, ts, sig, &extended), Err(Rejection::Mismatch));
    assert_eq!(
        check(NOW, Some("1531420619"), sig, body),
        Err(Rejection::Mismatch)
    );
    assert_eq!(
        verify(b"another secret", ts, sig, body, NOW),
        Err(Rejection::Mismatch)
    );
    let flipped = format!("v0={}4", &hex[..63]);
    assert_eq!(
        check(NOW, ts, Some(&flipped), body),
        Err(Rejection::Mismatch)
    );
}

#[test]
fn config_never_prints_its_secret() {
    let printed = format!("{:?}", Config::new(SECRET, pinned_clock));
    assert!(!printed.contains(SECRET), "{printed}");
}

// --- requests through the route table ---------------------------------------

#[tokio::test]
async fn documented_example_request_in_every_event_shape() {
    let client = client();
    for kind in EventKind::LAMBDA {
        let res = client
            .post("/slack/commands")
            .kind(kind)
            .header("Content-Type", FORM)
            .header("X-Slack-Request-Timestamp", EXAMPLE_TS)
            .header("X-Slack-Signature", EXAMPLE_SIG)
            .body(EXAMPLE_BODY)
            .send()
            .await;
        assert_eq!(res.status(), 200, "{kind:?}: {}", res.text());
        let reply: Reply = res.json();
        // `text=` is empty: the help message, for the user only, naming the
        // command as configured.
        assert_eq!(reply.response_type, ResponseType::Ephemeral, "{kind:?}");
        assert!(
            reply.text.contains("`/webhook-collect echo <text>`"),
            "{kind:?}: {}",
            reply.text
        );
    }
}

/// The event as API Gateway or an ALB sends it when it treats the body as
/// binary (a REST API with `binaryMediaTypes`, HTTP APIs for many content
/// types): base64 in `body` and `isBase64Encoded: true`.
fn base64_event(kind: EventKind, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut ev = HttpEvent::new(kind, http::Method::POST, path);
    ev.headers = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    ev.body = Some(body.to_vec());
    let mut v = ev.to_value();
    assert_eq!(v["isBase64Encoded"], false, "a form body is sent as text");
    v["body"] = base64::engine::general_purpose::STANDARD
        .encode(body)
        .into();
    v["isBase64Encoded"] = true.into();
    serde_json::to_vec(&v).unwrap()
}

#[tokio::test]
async fn base64_encoded_bodies_reach_the_verifier_byte_for_byte() {
    let client = client();
    for kind in EventKind::LAMBDA {
        let event = base64_event(
            kind,
            "/slack/commands",
            &[
                ("Content-Type", FORM),
                ("X-Slack-Request-Timestamp", EXAMPLE_TS),
                ("X-Slack-Signature", EXAMPLE_SIG),
            ],
            EXAMPLE_BODY.as_bytes(),
        );
        let res = client.send_event(&event).await.unwrap();
        assert_eq!(res.status(), 200, "{kind:?}: {}", res.text());
        let reply: Reply = res.json();
        assert_eq!(reply.response_type, ResponseType::Ephemeral, "{kind:?}");

        // The same event with one byte of the body changed.
        let mut tampered = EXAMPLE_BODY.as_bytes().to_vec();
        *tampered.last_mut().unwrap() = b'd';
        let event = base64_event(
            kind,
            "/slack/commands",
            &[
                ("Content-Type", FORM),
                ("X-Slack-Request-Timestamp", EXAMPLE_TS),
                ("X-Slack-Signature", EXAMPLE_SIG),
            ],
            &tampered,
        );
        assert_bare_401(&client.send_event(&event).await.unwrap());
    }
}

#[tokio::test]
async fn the_form_is_parsed_from_the_verified_bytes_not_a_re_encoding() {
    // `+` and `%20` both mean a space, `%2a` and `*` both a star: a verifier
    // fed a re-serialized form would compute another signature.
    let body = command_body_raw("echo+mixed%20spaces%2a*+%26+%3Cb%3E");
    let client = client();
    for kind in EventKind::LAMBDA {
        let res = post_signed(&client, "/slack/commands", FORM, &body, kind).await;
        assert_eq!(res.status(), 200, "{kind:?}: {}", res.text());
        let reply: Reply = res.json();
        assert_eq!(reply.text, "mixed spaces** &amp; &lt;b&gt;", "{kind:?}");
    }
}

#[tokio::test]
async fn tampered_body_is_a_bare_401() {
    let client = client();
    let body = command_body("echo hi");
    let ts = NOW.to_string();
    let sig = sign(SECRET.as_bytes(), &ts, body.as_bytes());
    for kind in EventKind::LAMBDA {
        let res = client
            .post("/slack/commands")
            .kind(kind)
            .header("Content-Type", FORM)
            .header("X-Slack-Request-Timestamp", &ts)
            .header("X-Slack-Signature", &sig)
            .body(body.replace("echo+hi", "echo+hI"))
            .send()
            .await;
        assert_bare_401(&res);
    }
    // Signed with another secret.
    let res = client
        .post("/slack/commands")
        .header("Content-Type", FORM)
        .header("X-Slack-Request-Timestamp", &ts)
        .header(
            "X-Slack-Signature",
            &sign(b"not the secret", &ts, body.as_bytes()),
        )
        .body(body.clone())
        .send()
        .await;
    assert_bare_401(&res);
}

#[tokio::test]
async fn stale_or_future_timestamps_are_a_bare_401() {
    let client = client();
    let body = command_body("time");
    for (ts, status) in [
        (NOW - 301, 401),
        (NOW - 300, 200),
        (NOW + 300, 200),
        (NOW + 301, 401),
        (NOW - 3_600, 401),
    ] {
        let res = post_signed_at(
            &client,
            "/slack/commands",
            FORM,
            &body,
            EventKind::RestV1,
            ts,
        )
        .await;
        assert_eq!(res.status(), status, "sent at now{:+}", ts - NOW);
        if status == 401 {
            assert_bare_401(&res);
        }
    }
    // The documented example, replayed a day later.
    let late = Client::new(app(
        Config::new(SECRET, || 1_531_420_618 + 86_400),
        EventLog::default(),
    ));
    let res = late
        .post("/slack/commands")
        .header("Content-Type", FORM)
        .header("X-Slack-Request-Timestamp", EXAMPLE_TS)
        .header("X-Slack-Signature", EXAMPLE_SIG)
        .body(EXAMPLE_BODY)
        .send()
        .await;
    assert_bare_401(&res);
}

#[tokio::test]
async fn missing_headers_are_a_bare_401() {
    let client = client();
    for path in ["/slack/commands", "/slack/events"] {
        for (ts, sig) in [
            (None, Some(EXAMPLE_SIG)),
            (Some(EXAMPLE_TS), None),
            (None, None),
            (Some(""), Some("")),
        ] {
            for kind in EventKind::LAMBDA {
                let mut req = client
                    .post(path)
                    .kind(kind)
                    .header("Content-Type", FORM)
                    .body(EXAMPLE_BODY);
                if let Some(ts) = ts {
                    req = req.header("X-Slack-Request-Timestamp", ts);
                }
                if let Some(sig) = sig {
                    req = req.header("X-Slack-Signature", sig);
                }
                assert_bare_401(&req.send().await);
            }
        }
    }
}

#[tokio::test]
async fn unverified_requests_are_refused_before_the_body_is_parsed() {
    // Not even a form: still a 401, not a 415 that would confirm the route
    // parses bodies.
    let res = client()
        .post("/slack/commands")
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await;
    assert_bare_401(&res);
    // Signed but of the wrong type: the form extractor's 415.
    let res = post_signed(
        &client(),
        "/slack/commands",
        "application/json",
        "{}",
        EventKind::RestV1,
    )
    .await;
    assert_eq!(res.status(), 415);
}

// --- the commands --------------------------------------------------------------

#[tokio::test]
async fn help_command() {
    let client = client();
    for text in ["", "help", "  HELP  "] {
        let reply = command(&client, text).await;
        assert_eq!(reply.response_type, ResponseType::Ephemeral, "{text:?}");
        assert_eq!(reply.blocks.len(), 2, "{text:?}");
        let usage = section_text(&reply.blocks[1]);
        for sub in [
            "`/lambada help`",
            "`/lambada echo <text>`",
            "`/lambada time`",
        ] {
            assert!(usage.contains(sub), "{usage}");
        }
    }
}

#[tokio::test]
async fn unknown_command_answers_with_help() {
    let reply = command(&client(), "dance <!here>").await;
    assert_eq!(reply.response_type, ResponseType::Ephemeral);
    assert_eq!(section_text(&reply.blocks[0]), "I don't know `dance`.");
    let reply = command(&client(), "<!channel>").await;
    assert_eq!(
        section_text(&reply.blocks[0]),
        "I don't know `&lt;!channel&gt;`."
    );
}

#[tokio::test]
async fn echo_command() {
    let client = client();
    let reply = command(&client, "echo Hello,  Lambada!").await;
    assert_eq!(
        reply,
        Reply {
            response_type: ResponseType::InChannel,
            text: "Hello,  Lambada!".into(),
            blocks: vec![
                Block::Section {
                    text: Text::Mrkdwn {
                        text: "Hello,  Lambada!".into(),
                        verbatim: true
                    }
                },
                Block::Context {
                    elements: vec![Text::Mrkdwn {
                        text: "echoed for <@U2CERLKJA>".into(),
                        verbatim: false
                    }]
                },
            ],
        }
    );
    // User text cannot mention everyone or forge a link.
    let reply = command(
        &client,
        "echo <!channel> see <https://evil.example|docs> & more",
    )
    .await;
    assert_eq!(
        reply.text,
        "&lt;!channel&gt; see &lt;https://evil.example|docs&gt; &amp; more"
    );
    assert_eq!(section_text(&reply.blocks[0]), reply.text);
    // Text Slack already escaped is not escaped twice.
    let reply = command(&client, "echo a &lt;b&gt; &amp; c").await;
    assert_eq!(reply.text, "a &lt;b&gt; &amp; c");
    // Nothing to echo: a hint, for the user only.
    let reply = command(&client, "echo   ").await;
    assert_eq!(reply.response_type, ResponseType::Ephemeral);
    assert!(
        reply.text.contains("`/lambada echo hello`"),
        "{}",
        reply.text
    );
}

#[tokio::test]
async fn time_command_uses_the_configured_clock() {
    let reply = command(&client(), "time").await;
    assert_eq!(reply.response_type, ResponseType::Ephemeral);
    assert_eq!(reply.text, "It is 2018-07-12T18:37:28Z.");
    assert_eq!(
        section_text(&reply.blocks[0]),
        "It is <!date^1531420648^{date_long_pretty} at {time_secs}|2018-07-12T18:37:28Z>."
    );
}

#[test]
fn rfc3339_dates() {
    use crate::commands::rfc3339;
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(rfc3339(1_709_164_799), "2024-02-28T23:59:59Z");
    assert_eq!(rfc3339(1_709_251_199), "2024-02-29T23:59:59Z");
    assert_eq!(rfc3339(4_102_444_800), "2100-01-01T00:00:00Z");
    assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
}

#[tokio::test]
async fn ssl_check_is_acknowledged() {
    let res = post_signed(
        &client(),
        "/slack/commands",
        FORM,
        "ssl_check=1&token=xyzz0WbapA4vBCDEFasx0q6G",
        EventKind::RestV1,
    )
    .await;
    assert_eq!(res.status(), 200);
    assert!(res.bytes().is_empty());
}

// --- the Events API -------------------------------------------------------------

const JSON: &str = "application/json";

#[tokio::test]
async fn url_verification_challenge() {
    let body = r#"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    let client = client();
    for kind in EventKind::LAMBDA {
        let res = post_signed(&client, "/slack/events", JSON, body, kind).await;
        assert_eq!(res.status(), 200, "{kind:?}");
        assert_eq!(res.header("content-type"), Some(JSON));
        let v: serde_json::Value = res.json();
        assert_eq!(
            v,
            serde_json::json!({"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"})
        );
    }
    // Slack signs the handshake too: an unsigned one is refused.
    let res = client
        .post("/slack/events")
        .header("Content-Type", JSON)
        .body(body)
        .send()
        .await;
    assert_bare_401(&res);
}

fn event_callback(event_id: &str) -> String {
    serde_json::json!({
        "token": "XXYYZZ",
        "team_id": "T123ABC456",
        "api_app_id": "A123ABC456",
        "event": {
            "type": "app_mention",
            "user": "U123ABC456",
            "text": "<@U0LAN0Z89> is it everything a river should be?",
            "ts": "1515449522.000016",
            "channel": "C123ABC456",
            "event_ts": "1515449522000016"
        },
        "type": "event_callback",
        "event_id": event_id,
        "event_time": 1515449522000016_i64
    })
    .to_string()
}

#[tokio::test]
async fn events_are_acknowledged_once_and_retries_are_not_handled_twice() {
    let log = EventLog::default();
    let client = client_with(log.clone());
    let body = event_callback("Ev0PV52K21");
    let res = post_signed(&client, "/slack/events", JSON, &body, EventKind::HttpV2).await;
    assert_eq!(res.status(), 200);
    assert!(res.bytes().is_empty());
    assert_eq!(log.handled(), 1);

    // Slack's retry of the same event: acknowledged, not handled again.
    let ts = NOW.to_string();
    let res = client
        .post("/slack/events")
        .kind(EventKind::HttpV2)
        .header("Content-Type", JSON)
        .header("X-Slack-Request-Timestamp", &ts)
        .header(
            "X-Slack-Signature",
            &sign(SECRET.as_bytes(), &ts, body.as_bytes()),
        )
        .header("X-Slack-Retry-Num", "1")
        .header("X-Slack-Retry-Reason", "http_timeout")
        .body(body.clone())
        .send()
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(log.handled(), 1);

    let res = post_signed(
        &client,
        "/slack/events",
        JSON,
        &event_callback("Ev0PV52K22"),
        EventKind::HttpV2,
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(log.handled(), 2);
}

#[test]
fn the_event_log_forgets_the_oldest_ids() {
    let log = EventLog::default();
    for i in 0..events::REMEMBERED {
        assert!(log.first_delivery(&format!("Ev{i}")));
    }
    assert!(!log.first_delivery("Ev0"));
    assert!(log.first_delivery("Ev-new")); // pushes `Ev0` out
    assert!(log.first_delivery("Ev0"));
    assert!(!log.first_delivery("Ev-new"));
}

#[tokio::test]
async fn other_envelopes_are_acknowledged() {
    let client = client();
    for body in [
        r#"{"token":"t","team_id":"T1","minute_rate_limited":1518467820,"api_app_id":"A1","type":"app_rate_limited"}"#,
        r#"{"type":"something_new","x":1}"#,
    ] {
        let res = post_signed(&client, "/slack/events", JSON, body, EventKind::RestV1).await;
        assert_eq!(res.status(), 200, "{body}");
    }
    // Signed but not JSON: the JSON extractor's 400.
    let res = post_signed(&client, "/slack/events", JSON, "{oops", EventKind::RestV1).await;
    assert_eq!(res.status(), 400);
}

#[test]
fn route_table() {
    let manifest = routes().manifest();
    let table: Vec<(&str, &str)> = manifest["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap(),
                r["apigw_path"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        table,
        [("POST", "/slack/commands"), ("POST", "/slack/events")]
    );
    assert!(routes().check().is_err(), "the state is required");
    assert!(
        app(Config::new(SECRET, pinned_clock), EventLog::default())
            .check()
            .is_ok()
    );
}
