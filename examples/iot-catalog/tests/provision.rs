//! The built `iot-provision` binary: event files for the local emulator,
//! and registrations sent through Lambda's Invoke API. The Invoke API here
//! is a small stand-in on a loopback port that hands each payload to the
//! `register` handler (the trigger test client) on moto's DynamoDB, and
//! answers as Lambda does (`X-Amz-Function-Error` on a function error).

mod common;

use std::collections::{HashMap, HashSet};
use std::process::{Command, Output};
use std::sync::Arc;

use common::{TABLE, catalog};
use iot_catalog::provision::{is_activation_code, is_client_id, is_serial_number};
use iot_catalog::{Catalog, Registration};
use lambada::test::{Client, TriggerClient};
use lambada_test_support::AWS_ENV;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn provision(args: &[&str], endpoint: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_iot-provision"));
    cmd.args(args)
        .envs(AWS_ENV)
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        )
        .env_remove("AWS_PROFILE")
        .env_remove("IOT_ENDPOINT")
        .env_remove("AWS_ENDPOINT_URL");
    if let Some(url) = endpoint {
        cmd.env("AWS_ENDPOINT_URL", url);
    }
    cmd.output().unwrap()
}

fn lines(out: &Output) -> Vec<Registration> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn check_batch(batch: &[Registration], count: usize) {
    assert_eq!(batch.len(), count);
    let serials: HashSet<_> = batch.iter().map(|r| &r.serial_number).collect();
    let codes: HashSet<_> = batch.iter().map(|r| &r.activation_code).collect();
    assert_eq!((serials.len(), codes.len()), (count, count));
    for r in batch {
        assert!(is_serial_number(&r.serial_number), "{r:?}");
        assert!(is_client_id(&r.client_id), "{r:?}");
        assert!(is_activation_code(&r.activation_code), "{r:?}");
    }
}

#[test]
fn writes_event_files_and_prints_the_devices() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("devices");
    let out = provision(
        &[
            "--count",
            "4",
            "--first",
            "10",
            "--out",
            out_dir.to_str().unwrap(),
        ],
        None,
    );
    assert!(out.status.success(), "{out:?}");
    let batch = lines(&out);
    check_batch(&batch, 4);
    let names: Vec<&str> = batch.iter().map(|r| r.device.as_str()).collect();
    assert_eq!(names, ["myThing10", "myThing11", "myThing12", "myThing13"]);
    for reg in &batch {
        let file = out_dir.join(format!("{}.json", reg.device));
        let stored: Registration = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!(&stored, reg);
    }
    assert_eq!(std::fs::read_dir(&out_dir).unwrap().count(), 4);
}

/// Lambda's Invoke API for the functions in `functions`, one request per
/// connection.
async fn fake_lambda(functions: HashMap<&'static str, TriggerClient>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let functions = Arc::new(functions);
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            tokio::spawn(answer(sock, functions.clone()));
        }
    });
    url
}

async fn answer(mut sock: TcpStream, functions: Arc<HashMap<&'static str, TriggerClient>>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let payload: serde_json::Value =
        serde_json::from_slice(&buf[head_end..head_end + length]).unwrap_or_default();
    // POST /2015-03-31/functions/<name>/invocations
    let path = head.split_whitespace().nth(1).unwrap_or_default();
    let name = path
        .strip_prefix("/2015-03-31/functions/")
        .and_then(|p| p.strip_suffix("/invocations"))
        .unwrap_or_default();
    let (status, extra, body) = match functions.get(name) {
        None => (
            "404 Not Found",
            "x-amzn-errortype: ResourceNotFoundException\r\n".to_owned(),
            serde_json::json!({"Type": "User", "message": format!("Function not found: {name}")}),
        ),
        Some(handler) => match handler.send(&payload).await {
            Ok(reply) => ("200 OK", String::new(), reply),
            Err(e) => (
                "200 OK",
                "x-amz-function-error: Unhandled\r\n".to_owned(),
                serde_json::json!({"errorType": e.error_type, "errorMessage": e.message}),
            ),
        },
    };
    let body = serde_json::to_vec(&body).unwrap();
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nx-amz-executed-version: $LATEST\r\n{extra}connection: close\r\n\r\n",
        body.len()
    );
    let _ = sock.write_all(head.as_bytes()).await;
    let _ = sock.write_all(&body).await;
    let _ = sock.shutdown().await;
}

/// `--function`: each registration goes through the Invoke API to the
/// handler and lands in the table; function errors and unknown functions
/// make the command fail, after trying every device.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invokes_the_deployed_function() {
    let (moto, catalog) = catalog().await;
    let register = |c: &Catalog| Client::new(iot_catalog::app(c.clone())).trigger("register");
    let broken = Catalog::new(moto.dynamodb(), "no-such-table");
    let url = fake_lambda(HashMap::from([
        ("lambada-iot-catalog-register", register(&catalog)),
        ("broken-register", register(&broken)),
    ]))
    .await;

    let run = |args: &'static [&'static str]| {
        let url = url.clone();
        tokio::task::spawn_blocking(move || provision(args, Some(&url)))
    };

    let out = run(&["-n", "3", "--function", "lambada-iot-catalog-register"])
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let batch = lines(&out);
    check_batch(&batch, 3);
    for reg in &batch {
        let device = catalog
            .get(&reg.serial_number, &reg.client_id)
            .await
            .unwrap()
            .expect("registered");
        assert_eq!(device.activation_code, reg.activation_code);
        assert!(!device.activated);
        assert!(stderr.contains(&format!("{}: {{", reg.device)), "{stderr}");
    }
    assert_eq!(
        stderr.matches("\"status\":\"registered\"").count(),
        3,
        "{stderr}"
    );
    let scanned = moto
        .dynamodb()
        .scan()
        .table_name(TABLE)
        .send()
        .await
        .unwrap();
    assert_eq!(scanned.count(), 3);

    // A function error for each device: reported, and the exit status says so.
    let out = run(&["-n", "2", "--function", "broken-register"])
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(lines(&out).len(), 2);
    assert_eq!(
        stderr
            .matches("function error RegisterError: DynamoDB")
            .count(),
        2,
        "{stderr}"
    );
    assert!(stderr.contains("2 of 2 registrations failed"), "{stderr}");

    // No such function.
    let out = run(&["-n", "1", "--function", "nope"]).await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("ResourceNotFoundException"), "{stderr}");
}
