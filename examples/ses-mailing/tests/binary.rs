//! The built `ses-mailing` binary, configured from its environment as under
//! Lambda (`MAILING_TABLE`, `AWS_ENDPOINT_URL`, the AWS variables):
//!
//! - it prints its route table with no AWS configuration (what `cargo
//!   lambada routes` and `deploy` read);
//! - as the function whose `Handler` is `on_ses_notification`, behind a
//!   minimal Lambda Runtime API on loopback, it applies SNS events to moto's
//!   DynamoDB and reports an unknown notification as a function error;
//! - in its plain HTTP mode it answers `GET /mailing/<email>` from the same
//!   table.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lambada::test::events;
use lambada_test_support::{AWS_ENV, Moto};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);

fn message(name: &str) -> String {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The binary with the AWS environment of a test: moto's endpoint, test
/// credentials, no instance metadata, the table's name.
fn bootstrap(moto: &Moto, table: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ses-mailing"));
    cmd.envs(AWS_ENV)
        .env("AWS_ENDPOINT_URL", moto.url())
        .env("MAILING_TABLE", table)
        .env_remove("LAMBADA_ROUTES")
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env_remove("_HANDLER")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// Kills the child (by its own PID) when the test ends, pass or fail.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn prints_its_route_table_without_aws() {
    let out = Command::new(env!("CARGO_BIN_EXE_ses-mailing"))
        .env("LAMBADA_ROUTES", "1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(manifest["routes"].as_array().unwrap().len(), 1);
    assert_eq!(manifest["routes"][0]["method"], "GET");
    assert_eq!(manifest["routes"][0]["apigw_path"], "/mailing/{email}");
    assert_eq!(manifest["routes"][0]["handler"], "get_state");
    assert_eq!(manifest["triggers"].as_array().unwrap().len(), 1);
    assert_eq!(manifest["triggers"][0]["kind"], "sns");
    assert_eq!(manifest["triggers"][0]["handler"], "on_ses_notification");
    assert_eq!(manifest["triggers"][0]["source"], "ses-notifications");
}

/// What the function posted back: the path (`…/response`, `…/error`), the
/// error type header, the body.
type Posted = (String, Option<String>, String);

/// One HTTP/1.1 request to the Runtime API.
struct Incoming {
    /// `POST /2018-06-01/runtime/invocation/<id>/response HTTP/1.1`.
    line: String,
    /// Lowercase names.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// The next request of a keep-alive connection; `None` at its end.
fn read_request(r: &mut BufReader<TcpStream>) -> Option<Incoming> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
    }
    let len = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some(Incoming {
        line: line.trim_end().to_owned(),
        headers,
        body,
    })
}

/// A Lambda Runtime API on loopback handing out `events` in order (then
/// holding the next `next` open) and reporting what the function posts.
fn runtime_api(events: Vec<Vec<u8>>) -> (String, mpsc::Receiver<Posted>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let queue = Arc::new(Mutex::new(events.into_iter().enumerate()));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let (queue, tx) = (queue.clone(), tx.clone());
            std::thread::spawn(move || {
                let mut writer = stream.try_clone().unwrap();
                let mut reader = BufReader::new(stream);
                while let Some(Incoming {
                    line,
                    headers,
                    body,
                }) = read_request(&mut reader)
                {
                    let path = line.split(' ').nth(1).unwrap_or("").to_owned();
                    if path == "/2018-06-01/runtime/invocation/next" {
                        let next = queue.lock().unwrap().next();
                        let Some((i, event)) = next else {
                            // No more events: the function waits here until
                            // the test kills it.
                            std::thread::sleep(Duration::from_secs(3600));
                            return;
                        };
                        let head = format!(
                            "HTTP/1.1 200 OK\r\n\
                             Lambda-Runtime-Aws-Request-Id: request-{i}\r\n\
                             Lambda-Runtime-Deadline-Ms: 4102444800000\r\n\
                             Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:lambada-ses-mailing-on-ses-notification\r\n\
                             Content-Type: application/json\r\n\
                             Content-Length: {}\r\n\r\n",
                            event.len()
                        );
                        let _ = writer.write_all(head.as_bytes());
                        let _ = writer.write_all(&event);
                    } else {
                        let error_type = headers
                            .iter()
                            .find(|(k, _)| k == "lambda-runtime-function-error-type")
                            .map(|(_, v)| v.clone());
                        let _ = tx.send((path, error_type, String::from_utf8_lossy(&body).into()));
                        let _ = writer.write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 16\r\n\r\n{\"status\":\"OK\"}\n");
                    }
                }
            });
        }
    });
    (addr, rx)
}

/// The function's standard error so far, for failure messages.
fn stderr_of(child: &mut Child) -> Arc<Mutex<String>> {
    let log = Arc::new(Mutex::new(String::new()));
    let err = child.stderr.take().unwrap();
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            sink.lock().unwrap().push_str(&format!("{line}\n"));
        }
    });
    log
}

#[tokio::test]
async fn handles_sns_events_as_the_trigger_function() {
    let moto = Moto::start();
    moto.create_table_with_key("lambada-mailing", "UserId")
        .await;
    let complaint = events::sns("ses-notifications", &[&message("complaint-article.json")]);
    let unknown = events::sns(
        "ses-notifications",
        &[r#"{"notificationType": "Open", "mail": {}}"#],
    );
    let (api, posted) = runtime_api(vec![
        serde_json::to_vec(&complaint).unwrap(),
        serde_json::to_vec(&unknown).unwrap(),
    ]);
    let mut child = bootstrap(&moto, "lambada-mailing")
        .env("AWS_LAMBDA_RUNTIME_API", &api)
        .env("_HANDLER", "on_ses_notification")
        .env(
            "AWS_LAMBDA_FUNCTION_NAME",
            "lambada-ses-mailing-on-ses-notification",
        )
        .spawn()
        .unwrap();
    let log = stderr_of(&mut child);
    let _running = Running(child);
    let next = || {
        posted
            .recv_timeout(WAIT)
            .unwrap_or_else(|e| panic!("{e}; the function's log:\n{}", log.lock().unwrap()))
    };

    let (path, error_type, body) = next();
    assert_eq!(path, "/2018-06-01/runtime/invocation/request-0/response");
    assert_eq!(error_type, None);
    assert_eq!(body, "null");

    let (path, error_type, body) = next();
    assert_eq!(path, "/2018-06-01/runtime/invocation/request-1/error");
    assert_eq!(error_type.as_deref(), Some("Lambada.HandlerFailed"));
    let error: Value = serde_json::from_str(&body).unwrap();
    assert!(
        error["errorMessage"]
            .as_str()
            .unwrap()
            .contains("unknown notificationType `Open`"),
        "{error}"
    );

    // Written to the table MAILING_TABLE names, through AWS_ENDPOINT_URL.
    let item = moto
        .dynamodb()
        .get_item()
        .table_name("lambada-mailing")
        .key(
            "UserId",
            aws_sdk_dynamodb::types::AttributeValue::S("recipient1@example.com".into()),
        )
        .send()
        .await
        .unwrap()
        .item
        .expect("the item");
    assert_eq!(item["state"].as_s().unwrap(), "disable");
    assert_eq!(
        item["LastEvent"].as_s().unwrap(),
        "2012-05-25T21:59:38.623Z"
    );
}

#[tokio::test]
async fn answers_the_api_in_http_mode() {
    let moto = Moto::start();
    moto.create_table_with_key("lambada-mailing", "UserId")
        .await;
    // A state to read, written by the library on the same table.
    let mailing = ses_mailing::Mailing::new(moto.dynamodb(), "lambada-mailing");
    let client = lambada::test::Client::new(ses_mailing::app(mailing));
    let res = client
        .trigger("on_ses_notification")
        .send(&events::sns(
            "ses-notifications",
            &[&message("delivery.json")],
        ))
        .await;
    assert_eq!(res, Ok(Value::Null));

    let mut child = bootstrap(&moto, "lambada-mailing")
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    let _running = Running(child);
    // "lambada: listening on http://127.0.0.1:<port>"
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if let Some(addr) = line.split("listening on http://").nth(1) {
                let _ = tx.send(addr.trim().to_owned());
            }
        }
    });
    let addr = rx.recv_timeout(WAIT).expect("the server's address");

    let get = |path: &str| {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        (head.lines().next().unwrap().to_owned(), body.to_owned())
    };
    let (status, body) = get("/mailing/mary%40example.com");
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
    let state: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(state["UserId"], "mary@example.com");
    assert_eq!(state["state"], "enable");
    assert_eq!(state["LastEvent"], "2016-01-27T14:59:38.864Z");
    let (status, body) = get("/mailing/richard@example.com");
    assert_eq!(status, "HTTP/1.1 404 Not Found", "{body}");
    let problem: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        problem,
        json!({"status": 404, "title": "Not Found", "detail": "no notification for `richard@example.com`"})
    );
}
