//! The helper driven exactly as Docker drives it: one process per verb, the
//! input on stdin, the answer on stdout, the exit status. ECR is moto's
//! server on a loopback port (`AWS_ENDPOINT_URL`); what the helper sent is
//! counted from moto's own request recording.
//!
//! Needs `moto_server` on PATH (`./scripts/test` installs it with pip).
//! Tests that must not reach ECR point the SDK at a closed loopback port, so
//! a stray request fails instead of leaving the machine.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lambada_test_support::{Moto, request_body, request_header};
use serde_json::{Value, json};

const HELPER: &str = env!("CARGO_BIN_EXE_docker-credential-ecr-login");
const NOT_FOUND: &str = "credentials not found in native keychain\n";
const HOST: &str = "210987654321.dkr.ecr.eu-west-1.amazonaws.com";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Asserts the requests are exactly one `GetAuthorizationToken` for
/// `account`, signed for `region`.
fn assert_one_token_request(requests: &[Value], account: &str, region: &str) {
    assert_eq!(requests.len(), 1, "{requests:#?}");
    let r = &requests[0];
    assert_eq!(
        request_header(r, "x-amz-target"),
        "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"
    );
    assert!(
        request_header(r, "authorization").contains(&format!("/{region}/ecr/aws4_request")),
        "{r:#}"
    );
    let sent: Value = serde_json::from_str(&request_body(r)).unwrap();
    assert_eq!(sent, json!({"registryIds": [account]}));
}

/// A user's environment: an empty home, the cache in it, and AWS settings
/// that can only reach `endpoint`.
struct Env {
    home: tempfile::TempDir,
    endpoint: String,
    vars: Vec<(String, String)>,
}

struct Output {
    status: i32,
    stdout: String,
    stderr: String,
}

impl Env {
    fn new(endpoint: String) -> Env {
        Env {
            home: tempfile::tempdir().unwrap(),
            endpoint,
            vars: Vec::new(),
        }
    }

    /// No AWS server: a closed loopback port.
    fn offline() -> Env {
        Env::new(format!("http://127.0.0.1:{}", free_port()))
    }

    fn cache_dir(&self) -> PathBuf {
        self.home.path().join("cache")
    }

    fn cache_file(&self, host: &str) -> PathBuf {
        self.cache_dir().join(format!("{host}.json"))
    }

    fn write_entry(&self, host: &str, secret: &str, expires_at: i64) {
        fs::create_dir_all(self.cache_dir()).unwrap();
        let entry = json!({
            "registry": host, "username": "AWS", "secret": secret, "expiresAt": expires_at,
        });
        fs::write(self.cache_file(host), entry.to_string()).unwrap();
    }

    fn read_entry(&self, host: &str) -> Value {
        serde_json::from_slice(&fs::read(self.cache_file(host)).unwrap()).unwrap()
    }

    /// Runs the helper with `args` and `stdin`, as Docker does; killed if it
    /// has not finished within 60 s.
    fn run(&self, args: &[&str], stdin: &str) -> Output {
        use std::io::Write;
        let out_dir = tempfile::tempdir().unwrap();
        let (out, err) = (out_dir.path().join("out"), out_dir.path().join("err"));
        let home = self.home.path();
        let mut command = Command::new(HELPER);
        command
            .args(args)
            .env_clear()
            .env("HOME", home)
            .env("ECR_LOGIN_CACHE_DIR", self.cache_dir())
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", home.join("aws-config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", home.join("aws-credentials"))
            .stdin(Stdio::piped())
            .stdout(fs::File::create(&out).unwrap())
            .stderr(fs::File::create(&err).unwrap());
        for (k, v) in &self.vars {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("the helper starts");
        // A helper that fails before reading its input closes the pipe: not
        // an error here, its exit status tells.
        let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the helper did not finish within 60 s: {args:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Output {
            status: status.code().unwrap_or(-1),
            stdout: fs::read_to_string(out).unwrap(),
            stderr: fs::read_to_string(err).unwrap(),
        }
    }

    fn get(&self, server_url: &str) -> Value {
        let out = self.run(&["get"], server_url);
        assert_eq!(
            out.status, 0,
            "get {server_url}: {}{}",
            out.stdout, out.stderr
        );
        serde_json::from_str(&out.stdout).unwrap()
    }
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn get_fetches_a_token_and_caches_it_privately() {
    let moto = Moto::start_with_recording();
    let mut env = Env::new(moto.url());
    let log = env.home.path().join("helper.log");
    env.vars
        .push(("ECR_LOGIN_LOG".into(), log.display().to_string()));

    // Docker passes the server URL with a trailing newline.
    let url = format!("https://{HOST}/v2/");
    assert_eq!(
        env.get(&format!("{url}\n")),
        json!({"ServerURL": url, "Username": "AWS", "Secret": "210987654321-auth-token"})
    );
    assert_one_token_request(&moto.take_requests(), "210987654321", "eu-west-1");

    // moto's tokens expire in 2015: cached with that expiry, so the next get
    // asks again.
    let cached = env.read_entry(HOST);
    assert_eq!(cached["registry"], HOST);
    assert_eq!(cached["secret"], "210987654321-auth-token");
    assert!(cached["expiresAt"].as_i64().unwrap() < now());
    #[cfg(unix)]
    {
        assert_eq!(mode(&env.cache_file(HOST)), 0o600);
        assert_eq!(mode(&env.cache_dir()), 0o700);
    }
    let names: Vec<_> = fs::read_dir(env.cache_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, [format!("{HOST}.json")], "no temp file left behind");

    env.get(HOST);
    assert_one_token_request(&moto.take_requests(), "210987654321", "eu-west-1");

    let log = fs::read_to_string(log).unwrap();
    assert!(log.contains("GetAuthorizationToken"), "{log}");
    assert!(
        !log.contains("auth-token"),
        "the log holds a secret:\n{log}"
    );
}

#[test]
fn fips_and_china_registries_are_asked_in_their_region() {
    let moto = Moto::start_with_recording();
    let env = Env::new(moto.url());
    for (host, region) in [
        (
            "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com",
            "us-gov-west-1",
        ),
        (
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
            "cn-north-1",
        ),
        (
            "123456789012.dkr.ecr.ap-southeast-2.amazonaws.com:443",
            "ap-southeast-2",
        ),
    ] {
        let answer = env.get(host);
        assert_eq!(answer["Secret"], "123456789012-auth-token", "{host}");
        assert_one_token_request(&moto.take_requests(), "123456789012", region);
    }
}

#[test]
fn a_fresh_cached_token_is_served_without_calling_ecr() {
    let moto = Moto::start_with_recording();
    let env = Env::new(moto.url());
    let log = env.home.path().join("helper.log");
    env.write_entry(HOST, "cached-secret", now() + 3600);

    for url in [
        HOST.to_owned(),
        format!("https://{HOST}"),
        format!("https://{}:443/v2/", HOST.to_uppercase()),
    ] {
        let out = env.run(&["--log-file", log.to_str().unwrap(), "get"], &url);
        assert_eq!(out.status, 0, "{}{}", out.stdout, out.stderr);
        let answer: Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(
            answer,
            json!({"ServerURL": url, "Username": "AWS", "Secret": "cached-secret"})
        );
    }
    assert_eq!(moto.take_requests(), Vec::<Value>::new());

    let log = fs::read_to_string(log).unwrap();
    assert_eq!(log.matches("cache hit").count(), 3, "{log}");
    assert!(
        !log.contains("cached-secret"),
        "the log holds a secret:\n{log}"
    );

    // Inside the 5-minute margin the token counts as expired.
    env.write_entry(HOST, "nearly-expired", now() + 120);
    assert_eq!(env.get(HOST)["Secret"], "210987654321-auth-token");
    assert_one_token_request(&moto.take_requests(), "210987654321", "eu-west-1");
}

#[test]
fn expired_and_corrupt_entries_are_refetched_and_rewritten() {
    let moto = Moto::start_with_recording();
    let env = Env::new(moto.url());

    env.write_entry(HOST, "stale-secret", now() - 60);
    assert_eq!(env.get(HOST)["Secret"], "210987654321-auth-token");
    assert_one_token_request(&moto.take_requests(), "210987654321", "eu-west-1");
    assert_eq!(env.read_entry(HOST)["secret"], "210987654321-auth-token");

    for garbage in ["", "{not json", "[]", r#"{"registry": "x"}"#] {
        fs::write(env.cache_file(HOST), garbage).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(env.cache_file(HOST), fs::Permissions::from_mode(0o644)).unwrap();
        }
        assert_eq!(env.get(HOST)["Secret"], "210987654321-auth-token");
        assert_one_token_request(&moto.take_requests(), "210987654321", "eu-west-1");
        assert_eq!(env.read_entry(HOST)["registry"], HOST, "{garbage:?}");
        #[cfg(unix)]
        assert_eq!(mode(&env.cache_file(HOST)), 0o600, "rewritten private");
    }

    // An entry for another registry in this registry's file is not used.
    fs::write(
        env.cache_file(HOST),
        json!({"registry": "111111111111.dkr.ecr.eu-west-1.amazonaws.com", "username": "AWS",
               "secret": "wrong", "expiresAt": now() + 3600})
        .to_string(),
    )
    .unwrap();
    assert_eq!(env.get(HOST)["Secret"], "210987654321-auth-token");
    assert_one_token_request(&moto.take_requests(), "210987654321", "eu-west-1");
}

#[test]
fn non_ecr_hosts_are_not_found() {
    let env = Env::offline();
    for url in [
        "https://index.docker.io/v1/",
        "ghcr.io",
        "localhost:5000",
        "dkr.ecr.us-east-1.amazonaws.com.evil.com",
        "210987654321.dkr.ecr.eu-west-1.amazonaws.com.evil.com",
    ] {
        let out = env.run(&["get"], url);
        assert_eq!((out.status, out.stdout.as_str()), (1, NOT_FOUND), "{url}");
    }
    assert!(!env.cache_dir().exists());
}

#[test]
fn malformed_input_fails_with_a_message() {
    let env = Env::offline();
    let cases: [(&[&str], &str, &str); 8] = [
        (&["get"], "", "no credentials server URL\n"),
        (&["get"], "  \n", "no credentials server URL\n"),
        (&["erase"], "", "no credentials server URL\n"),
        (&["store"], "not json", "invalid input: store expects JSON"),
        (
            &["store"],
            r#"{"Username": "AWS", "Secret": "x"}"#,
            "invalid input",
        ),
        (
            &["store"],
            r#"{"ServerURL": "", "Username": "AWS", "Secret": "x"}"#,
            "no credentials server URL\n",
        ),
        (&["frobnicate"], "", "Usage: docker-credential-ecr-login"),
        (&[], "", "Usage: docker-credential-ecr-login"),
    ];
    for (args, stdin, message) in cases {
        let out = env.run(args, stdin);
        assert_eq!(out.status, 1, "{args:?} {stdin:?}");
        assert!(
            out.stdout.starts_with(message),
            "{args:?} {stdin:?}: {}",
            out.stdout
        );
    }
}

#[test]
fn store_is_accepted_and_nothing_is_kept() {
    let env = Env::offline();
    let log = env.home.path().join("helper.log");
    let input = json!({"ServerURL": format!("https://{HOST}"), "Username": "AWS", "Secret": "typed-password"});
    let out = env.run(
        &[&format!("--log-file={}", log.display()), "store"],
        &input.to_string(),
    );
    assert_eq!((out.status, out.stdout.as_str()), (0, ""), "{}", out.stderr);
    assert!(!env.cache_dir().exists());
    let log = fs::read_to_string(log).unwrap();
    assert!(log.contains("store"), "{log}");
    assert!(
        !log.contains("typed-password"),
        "the log holds a secret:\n{log}"
    );
}

#[test]
fn erase_removes_the_cached_token() {
    let env = Env::offline();
    let other = "111111111111.dkr.ecr.us-east-1.amazonaws.com";
    env.write_entry(HOST, "s", now() + 3600);
    env.write_entry(other, "s", now() + 3600);

    for url in [
        format!("https://{HOST}"),
        HOST.to_owned(),
        "docker.io".to_owned(),
    ] {
        let out = env.run(&["erase"], &url);
        assert_eq!((out.status, out.stdout.as_str()), (0, ""), "{url}");
    }
    assert!(!env.cache_file(HOST).exists());
    assert!(env.cache_file(other).exists());
}

#[test]
fn list_shows_cached_registries() {
    let env = Env::offline();
    let out = env.run(&["list"], "");
    assert_eq!((out.status, out.stdout.as_str()), (0, "{}\n"));

    let other = "111111111111.dkr.ecr-fips.us-east-1.amazonaws.com";
    env.write_entry(HOST, "s", now() + 3600);
    env.write_entry(other, "s", now() - 3600);
    fs::write(
        env.cache_file("222222222222.dkr.ecr.us-east-1.amazonaws.com"),
        "junk",
    )
    .unwrap();
    let out = env.run(&["list"], "");
    assert_eq!(out.status, 0);
    assert_eq!(
        serde_json::from_str::<Value>(&out.stdout).unwrap(),
        json!({format!("https://{HOST}"): "AWS", format!("https://{other}"): "AWS"})
    );
    assert!(!out.stdout.contains("\"s\""));
}

#[test]
fn the_cache_defaults_to_xdg_cache_home_then_home() {
    let env = Env::offline();
    let xdg = env.home.path().join("xdg");
    let entry =
        json!({"registry": HOST, "username": "AWS", "secret": "s", "expiresAt": now() + 3600});
    for dir in [
        xdg.join("ecr-login"),
        env.home.path().join(".cache/ecr-login"),
    ] {
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(format!("{HOST}.json")), entry.to_string()).unwrap();
    }
    // `Env::run` sets ECR_LOGIN_CACHE_DIR: run by hand without it.
    let list = |xdg: Option<&Path>| {
        let mut command = Command::new(HELPER);
        command
            .arg("list")
            .env_clear()
            .env("HOME", env.home.path())
            .stdin(Stdio::null());
        if let Some(xdg) = xdg {
            command.env("XDG_CACHE_HOME", xdg);
        }
        let out = command.output().unwrap();
        assert!(out.status.success());
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let expected = json!({format!("https://{HOST}"): "AWS"});
    assert_eq!(list(Some(&xdg)), expected);
    fs::remove_file(xdg.join("ecr-login").join(format!("{HOST}.json"))).unwrap();
    assert_eq!(list(Some(&xdg)), json!({}));
    assert_eq!(list(None), expected);
}

#[test]
fn version() {
    let env = Env::offline();
    for args in [&["--version"][..], &["version"]] {
        let out = env.run(args, "");
        assert_eq!(out.status, 0);
        assert!(
            out.stdout.contains(env!("CARGO_PKG_VERSION")),
            "{}",
            out.stdout
        );
    }
}
