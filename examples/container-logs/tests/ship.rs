//! `awslogs-ship` against CloudWatch Logs in moto's server, on a loopback
//! port (`lambada_test_support::Moto`, stopped by PID). What arrived is read
//! back with the AWS SDK (GetLogEvents, paged), never taken from the
//! shipper's word.
//!
//! Needs `moto_server` on PATH (`./scripts/test` installs it with pip).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_cloudwatchlogs::Client;
use lambada_test_support::Moto;

const SHIP: &str = env!("CARGO_BIN_EXE_awslogs-ship");

/// The shipper on moto, and CloudWatch Logs read back from it.
trait Logs {
    fn ship(&self, args: &[&str]) -> Command;
    fn run(&self, args: &[&str]) -> Output;
    fn client(&self) -> Client;
    fn messages(&self, group: &str, stream: &str) -> Vec<String>;
    fn try_messages(&self, group: &str, stream: &str) -> Result<Vec<String>, String>;
    fn streams(&self, group: &str) -> Vec<String>;
    fn groups(&self, prefix: &str) -> Vec<String>;
}

impl Logs for Moto {
    /// The shipper's command line, pointed at moto with test credentials.
    fn ship(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(SHIP);
        cmd.args(["--endpoint-url", &self.url(), "--flush-interval", "200ms"])
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/aws-credentials",
            )
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("ECS_CONTAINER_METADATA_URI_V4")
            .env_remove("AWSLOGS_GROUP")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.ship(args).output().expect("awslogs-ship runs")
    }

    fn client(&self) -> Client {
        Client::new(&self.sdk_config())
    }

    /// Every message in the stream, oldest first, read with GetLogEvents paging.
    fn messages(&self, group: &str, stream: &str) -> Vec<String> {
        self.try_messages(group, stream).expect("GetLogEvents")
    }

    fn try_messages(&self, group: &str, stream: &str) -> Result<Vec<String>, String> {
        let client = self.client();
        block_on(async move {
            let mut messages = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let page = client
                    .get_log_events()
                    .log_group_name(group)
                    .log_stream_name(stream)
                    .start_from_head(true)
                    .set_next_token(token.clone())
                    .send()
                    .await
                    .map_err(|e| {
                        aws_sdk_cloudwatchlogs::error::DisplayErrorContext(e).to_string()
                    })?;
                let events = page.events();
                if events.is_empty() || page.next_forward_token() == token.as_deref() {
                    return Ok(messages);
                }
                messages.extend(
                    events
                        .iter()
                        .map(|e| e.message().unwrap_or_default().to_owned()),
                );
                token = page.next_forward_token().map(str::to_owned);
            }
        })
    }

    fn streams(&self, group: &str) -> Vec<String> {
        let client = self.client();
        block_on(async move {
            let out = client
                .describe_log_streams()
                .log_group_name(group)
                .send()
                .await
                .expect("DescribeLogStreams");
            out.log_streams()
                .iter()
                .filter_map(|s| s.log_stream_name().map(str::to_owned))
                .collect()
        })
    }

    fn groups(&self, prefix: &str) -> Vec<String> {
        let client = self.client();
        block_on(async move {
            let out = client
                .describe_log_groups()
                .log_group_name_prefix(prefix)
                .send()
                .await
                .expect("DescribeLogGroups");
            out.log_groups()
                .iter()
                .filter_map(|g| g.log_group_name().map(str::to_owned))
                .collect()
        })
    }
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn fifty_thousand_lines_arrive_complete_and_in_order() {
    let moto = Moto::start();
    let out = moto.run(&[
        "--group",
        "bulk",
        "--stream-prefix",
        "app",
        "--container-name",
        "web",
        "--task-id",
        "t1",
        "--",
        "sh",
        "-c",
        "seq -f 'line %05g' 1 50000",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let expected: Vec<String> = (1..=50_000).map(|i| format!("line {i:05}")).collect();
    let got = moto.messages("bulk", "app/web/t1");
    assert_eq!(got.len(), expected.len());
    assert!(
        got == expected,
        "lines differ from the first at {:?}",
        got.iter().zip(&expected).position(|(a, b)| a != b)
    );
}

/// A small HTTP server on 127.0.0.1 answering ECS task metadata (v4); its
/// thread ends with the test process.
fn task_metadata_stub() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut request = String::new();
            let _ = reader.read_line(&mut request);
            // Read the whole request before answering: closing a socket with
            // unread input resets the connection, losing the answer.
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                header.clear();
            }
            let path = request.split_whitespace().nth(1).unwrap_or("").to_owned();
            let (status, body) = match path.as_str() {
                "/v4/abc/task" => (
                    "200 OK",
                    r#"{"Cluster":"default","TaskARN":"arn:aws:ecs:us-west-2:111122223333:task/default/600e016a93014f8190b26bfd0ad2d975","Family":"cw-logs-example"}"#,
                ),
                "/v4/abc" => (
                    "200 OK",
                    r#"{"DockerId":"ea32192c8553","Name":"simple-app","DockerName":"ecs-simple-app-1"}"#,
                ),
                _ => ("404 Not Found", "{}"),
            };
            let mut stream = &stream;
            let _ = write!(
                stream,
                "HTTP/1.0 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://127.0.0.1:{port}/v4/abc")
}

#[test]
fn stream_names_follow_prefix_container_task() {
    let moto = Moto::start();
    // On ECS: task id and container name from the task metadata endpoint.
    let out = moto
        .ship(&[
            "--group",
            "names",
            "--stream-prefix",
            "nginx",
            "--",
            "echo",
            "from ecs",
        ])
        .env("ECS_CONTAINER_METADATA_URI_V4", task_metadata_stub())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Elsewhere: configured.
    let out = moto.run(&[
        "--group",
        "names",
        "--stream-prefix",
        "nginx",
        "--container-name",
        "web",
        "--task-id",
        "local-1",
        "--",
        "echo",
        "configured",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Or the whole name.
    let out = moto.run(&[
        "--group", "names", "--stream", "plain", "--", "echo", "plain",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    assert_eq!(
        sorted(moto.streams("names")),
        [
            "nginx/simple-app/600e016a93014f8190b26bfd0ad2d975",
            "nginx/web/local-1",
            "plain"
        ]
    );
    assert_eq!(
        moto.messages("names", "nginx/simple-app/600e016a93014f8190b26bfd0ad2d975"),
        ["from ecs"]
    );
    assert_eq!(moto.messages("names", "nginx/web/local-1"), ["configured"]);

    // No task id anywhere: refuse before running the command.
    let out = moto.run(&[
        "--group",
        "names",
        "--stream-prefix",
        "nginx",
        "--container-name",
        "web",
        "--",
        "echo",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no task id"), "{}", stderr(&out));
}

#[test]
fn multiline_entries_are_joined() {
    let moto = Moto::start();
    let script = "printf '%s\\n' '2024-01-01 12:00:00 ERROR boom' '  at a()' '  at b()' '2024-01-01 12:00:01 INFO ok'; exit 5";
    let out = moto.run(&[
        "--group",
        "multi",
        "--stream",
        "pattern",
        "--multiline-pattern",
        r"^\d{4}-\d{2}-\d{2}",
        "--",
        "sh",
        "-c",
        script,
    ]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let joined = [
        "2024-01-01 12:00:00 ERROR boom\n  at a()\n  at b()",
        "2024-01-01 12:00:01 INFO ok",
    ];
    assert_eq!(moto.messages("multi", "pattern"), joined);

    let out = moto.run(&[
        "--group",
        "multi",
        "--stream",
        "datetime",
        "--datetime-format",
        "%Y-%m-%d %H:%M:%S",
        "--",
        "sh",
        "-c",
        script,
    ]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert_eq!(moto.messages("multi", "datetime"), joined);
}

#[test]
fn a_crashing_command_keeps_its_last_lines_and_status() {
    let moto = Moto::start();
    let out = moto.run(&[
        "--group",
        "crash",
        "--stream",
        "s",
        "--",
        "sh",
        "-c",
        "echo starting; echo 'fatal: out of cheese' >&2; kill -9 $$",
    ]);
    assert_eq!(out.status.code(), Some(128 + 9), "{}", stderr(&out));
    assert_eq!(
        sorted(moto.messages("crash", "s")),
        ["fatal: out of cheese", "starting"]
    );
}

#[test]
fn an_oversized_line_is_split_in_order() {
    let moto = Moto::start();
    let out = moto.run(&[
        "--group",
        "big",
        "--stream",
        "s",
        "--",
        "sh",
        "-c",
        "echo before; head -c 600000 /dev/zero | tr '\\0' a; echo; echo after",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let got = moto.messages("big", "s");
    let lens: Vec<usize> = got.iter().map(String::len).collect();
    let max = 262_144 - 26;
    assert_eq!(lens, [6, max, max, 600_000 - 2 * max, 5]);
    assert_eq!(got[0], "before");
    assert_eq!(got[1..4].concat(), "a".repeat(600_000));
    assert_eq!(got[4], "after");
}

#[test]
fn stdin_is_shipped_without_a_command() {
    let moto = Moto::start();
    let mut child = moto
        .ship(&["--group", "in", "--stream", "s"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"one\ntwo\n\nthree")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The empty line is not an event: CloudWatch rejects empty messages.
    assert_eq!(moto.messages("in", "s"), ["one", "two", "three"]);
}

#[test]
fn group_and_stream_are_created_when_missing_and_reused_when_present() {
    let moto = Moto::start();
    let args = |line: &'static str| -> Vec<&'static str> {
        vec![
            "--group",
            "reuse",
            "--stream-prefix",
            "p",
            "--container-name",
            "c",
            "--task-id",
            "t",
            "--",
            "echo",
            line,
        ]
    };
    let out = moto.run(&args("first run"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = moto.run(&args("second run"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(moto.groups("reuse"), ["reuse"]);
    assert_eq!(moto.streams("reuse"), ["p/c/t"]);
    assert_eq!(moto.messages("reuse", "p/c/t"), ["first run", "second run"]);

    // --create-group false: a missing group is an error, before the command runs.
    let out = moto.run(&[
        "--group",
        "absent",
        "--stream",
        "s",
        "--create-group",
        "false",
        "--",
        "echo",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("ResourceNotFoundException"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn sigterm_is_forwarded_to_the_command() {
    let moto = Moto::start();
    let script = "trap 'echo got TERM; exit 3' TERM; echo ready; while :; do sleep 0.1; done";
    let child = moto
        .ship(&["--group", "sig", "--stream", "s", "--", "sh", "-c", script])
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !moto.try_messages("sig", "s").is_ok_and(|m| !m.is_empty()) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the command's first line never arrived"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(moto.messages("sig", "s"), ["ready", "got TERM"]);
}
