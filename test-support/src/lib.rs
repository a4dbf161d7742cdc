//! Test-only helpers shared by the workspace's tests.
//!
//! [`Moto`]: moto's server mode (AWS APIs on a loopback port), started from
//! a temp working directory and killed by PID on drop. Needs `moto_server`
//! on PATH (`./scripts/test` installs it with pip).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};

/// The environment of anything that talks to moto: fixed test credentials
/// and region, and no instance metadata lookups.
pub const AWS_ENV: [(&str, &str); 5] = [
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_DEFAULT_REGION", "us-east-1"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
];

/// A running `moto_server`.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    pub port: u16,
    /// moto's working directory, and where the `sitecustomize` lives.
    _dir: tempfile::TempDir,
}

impl Moto {
    /// Starts moto on a free loopback port and waits until it answers.
    ///
    /// # Panics
    ///
    /// When `moto_server` is not installed or does not answer within 60 s.
    pub fn start() -> Moto {
        let found = Command::new("sh")
            .args(["-c", "command -v moto_server"])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            found,
            "`moto_server` is not installed: run ./scripts/test, which installs it with pip"
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        // moto checks a PutItem's condition and then stores the item, in
        // Python, with no lock between the two: a thread switch in between
        // lets two racing writes both pass (DynamoDB itself is atomic per
        // item). A long thread switch interval makes moto's threads yield
        // only on I/O, so each request's check-and-store runs whole and the
        // race tests check our code rather than moto's.
        std::fs::write(
            dir.path().join("sitecustomize.py"),
            "import sys\nsys.setswitchinterval(60)\n",
        )
        .unwrap();
        let python_path = match std::env::var_os("PYTHONPATH") {
            Some(p) if !p.is_empty() => {
                let mut joined = dir.path().as_os_str().to_owned();
                joined.push(":");
                joined.push(p);
                joined
            }
            _ => dir.path().as_os_str().to_owned(),
        };
        let child = Command::new("moto_server")
            .current_dir(dir.path())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("PYTHONPATH", python_path)
            .envs(AWS_ENV)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let mut moto = Moto {
            child,
            port,
            _dir: dir,
        };
        let start = Instant::now();
        while !moto.answers() {
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!("moto_server exited with {status}");
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "moto_server did not answer within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// `http://127.0.0.1:<port>`: the endpoint URL for SDK clients.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Whether moto answers HTTP yet.
    fn answers(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
        let req = "GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
        let mut out = String::new();
        s.write_all(req.as_bytes()).is_ok()
            && s.read_to_string(&mut out).is_ok()
            && out.starts_with("HTTP/1.")
    }

    /// SDK configuration for any service client on moto:
    /// `aws_sdk_sns::Client::new(&moto.sdk_config())`.
    pub fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(self.url())
            .region(Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
                Credentials::new("testing", "testing", None, None, "test"),
            ))
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .operation_timeout(Duration::from_secs(60))
                    .build(),
            )
            .build()
    }

    /// A DynamoDB client for moto, configured explicitly (nothing is read
    /// from the environment or the instance metadata endpoint).
    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(self.url())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
            .timeout_config(
                aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                    .operation_timeout(Duration::from_secs(60))
                    .build(),
            )
            .build();
        aws_sdk_dynamodb::Client::from_conf(config)
    }

    /// Creates an on-demand table with a string partition key `key`.
    pub async fn create_table_with_key(&self, name: &str, key: &str) {
        self.dynamodb()
            .create_table()
            .table_name(name)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(key)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(key)
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "create table {name}: {}",
                    aws_sdk_dynamodb::error::DisplayErrorContext(e)
                )
            });
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
