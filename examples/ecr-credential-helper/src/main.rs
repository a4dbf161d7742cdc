//! `docker-credential-ecr-login`: a Docker credential helper for Amazon ECR.
//!
//! Install with `cargo install --path examples/ecr-credential-helper`, then
//! put `{"credsStore": "ecr-login"}` in `~/.docker/config.json`: Docker runs
//! `docker-credential-ecr-login get` with the registry on stdin and reads the
//! credentials from stdout, so `docker push/pull` to ECR needs no
//! `docker login`. See the README for the protocol and the cache.

mod cache;
mod log;
mod registry;

use std::io::{Read, Write};
use std::process::ExitCode;

use aws_sdk_ecr::error::DisplayErrorContext;
use base64::Engine as _;
use serde::Deserialize;

use crate::cache::{Cache, Entry, Lookup};
use crate::log::Log;
use crate::registry::Registry;

/// The exact text Docker's client matches to mean "no credentials here, go
/// on anonymously" (docker-credential-helpers `credentials.ErrCredentialsNotFound`).
const NOT_FOUND: &str = "credentials not found in native keychain";
const MISSING_URL: &str = "no credentials server URL";
const USAGE: &str =
    "Usage: docker-credential-ecr-login [--log-file PATH] <get|list|store|erase|version>";

#[derive(Debug)]
enum Error {
    NotFound,
    MissingUrl,
    Usage,
    Input(String),
    Aws(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::NotFound => f.write_str(NOT_FOUND),
            Error::MissingUrl => f.write_str(MISSING_URL),
            Error::Usage => f.write_str(USAGE),
            Error::Input(msg) => write!(f, "invalid input: {msg}"),
            Error::Aws(msg) => write!(f, "ecr-login: {msg}"),
        }
    }
}

/// What `docker login` hands `store`, with Docker's field names.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StoreRequest {
    #[serde(rename = "ServerURL")]
    server_url: String,
    username: String,
    // The secret is accepted and dropped, never looked at or logged.
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut log_file = std::env::var_os("ECR_LOGIN_LOG").filter(|v| !v.is_empty());
    let mut verb = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--log-file" => match args.next() {
                Some(path) => log_file = Some(path.into()),
                None => return fail(&Error::Usage),
            },
            _ if arg.starts_with("--log-file=") => {
                log_file = Some(arg["--log-file=".len()..].into());
            }
            "-v" | "--version" | "version" => verb = Some("version".to_owned()),
            "-h" | "--help" | "help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ if verb.is_none() && !arg.starts_with('-') => verb = Some(arg),
            _ => return fail(&Error::Usage),
        }
    }
    let log = Log::open(log_file.as_deref());
    let Some(verb) = verb else {
        return fail(&Error::Usage);
    };
    let cache = Cache::from_env();
    match run(&verb, cache.as_ref(), &log) {
        Ok(out) => {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(out.as_bytes());
            let _ = stdout.flush();
            ExitCode::SUCCESS
        }
        Err(e) => {
            log.line(format_args!("{verb}: {e}"));
            fail(&e)
        }
    }
}

/// Docker's helpers report every error on stdout and exit 1; the client
/// shows that text to the user (and treats [`NOT_FOUND`] as "anonymous").
fn fail(e: &Error) -> ExitCode {
    println!("{e}");
    ExitCode::FAILURE
}

fn read_stdin() -> Result<String, Error> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| Error::Input(e.to_string()))?;
    Ok(input)
}

/// The server URL Docker writes on stdin for `get` and `erase`.
fn read_server_url() -> Result<String, Error> {
    let url = read_stdin()?.trim().to_owned();
    if url.is_empty() {
        return Err(Error::MissingUrl);
    }
    Ok(url)
}

fn run(verb: &str, cache: Option<&Cache>, log: &Log) -> Result<String, Error> {
    match verb {
        "get" => {
            let url = read_server_url()?;
            let entry = get(&url, cache, log)?;
            let answer = serde_json::json!({
                "ServerURL": url,
                "Username": entry.username,
                "Secret": entry.secret,
            });
            Ok(format!("{answer}\n"))
        }
        "list" => {
            let map: serde_json::Map<String, serde_json::Value> = cache
                .map(Cache::list)
                .unwrap_or_default()
                .into_iter()
                .map(|e| (format!("https://{}", e.registry), e.username.into()))
                .collect();
            log.line(format_args!("list: {} cached registries", map.len()));
            Ok(format!("{}\n", serde_json::Value::Object(map)))
        }
        "store" => {
            // ECR credentials come from AWS, not from `docker login`: accept
            // and drop them, so a login does not fail.
            let request: StoreRequest = serde_json::from_str(&read_stdin()?)
                .map_err(|e| Error::Input(format!("store expects JSON credentials: {e}")))?;
            if request.server_url.trim().is_empty() {
                return Err(Error::MissingUrl);
            }
            if request.username.is_empty() {
                return Err(Error::Input("no credentials username".into()));
            }
            log.line(format_args!(
                "store {}: ignored (credentials come from AWS)",
                request.server_url.trim()
            ));
            Ok(String::new())
        }
        "erase" => {
            let url = read_server_url()?;
            if let (Some(registry), Some(cache)) = (Registry::parse(&url), cache) {
                cache
                    .remove(&registry.host)
                    .map_err(|e| Error::Input(format!("cannot remove cached token: {e}")))?;
                log.line(format_args!("erase {}: cache entry removed", registry.host));
            }
            Ok(String::new())
        }
        "version" => Ok(format!(
            "docker-credential-ecr-login (Lambada example) {}\n",
            env!("CARGO_PKG_VERSION")
        )),
        _ => Err(Error::Usage),
    }
}

fn get(url: &str, cache: Option<&Cache>, log: &Log) -> Result<Entry, Error> {
    let Some(registry) = Registry::parse(url) else {
        log.line(format_args!("get {url}: not an ECR registry"));
        return Err(Error::NotFound);
    };
    let host = &registry.host;
    match cache.map(|c| c.get(host, cache::now())) {
        Some(Lookup::Fresh(entry)) => {
            log.line(format_args!(
                "get {host}: cache hit (expires at {})",
                entry.expires_at
            ));
            return Ok(entry);
        }
        Some(Lookup::Corrupt) => log.line(format_args!("get {host}: corrupt cache entry ignored")),
        Some(Lookup::Expired) => log.line(format_args!("get {host}: cached token expired")),
        Some(Lookup::Missing) => log.line(format_args!("get {host}: not cached")),
        None => log.line(format_args!("get {host}: no cache directory (HOME unset)")),
    }
    let entry = fetch(&registry, log)?;
    if let Some(cache) = cache {
        match cache.put(&entry) {
            Ok(()) => log.line(format_args!(
                "get {host}: cached in {} until {}",
                cache.dir().display(),
                entry.expires_at
            )),
            // A read-only home must not break `docker pull`.
            Err(e) => log.line(format_args!("get {host}: cannot write cache: {e}")),
        }
    }
    Ok(entry)
}

/// `GetAuthorizationToken` for the registry's account, in its region, with
/// credentials from the default chain.
fn fetch(registry: &Registry, log: &Log) -> Result<Entry, Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Aws(format!("cannot start the async runtime: {e}")))?;
    let data = runtime.block_on(async {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(registry.region.clone()))
            .load()
            .await;
        let mut config = aws_sdk_ecr::config::Builder::from(&sdk);
        // A custom endpoint (`AWS_ENDPOINT_URL`) already names the host; the
        // SDK refuses FIPS together with one.
        if registry.fips && sdk.endpoint_url().is_none() {
            config = config.use_fips(true);
        }
        let client = aws_sdk_ecr::Client::from_conf(config.build());
        log.line(format_args!(
            "get {}: GetAuthorizationToken registry {} in {}{}",
            registry.host,
            registry.account_id,
            registry.region,
            if registry.fips { " (FIPS)" } else { "" }
        ));
        // ECR deprecated `registryIds`: any token now opens every registry
        // the principal may use. Naming the registry still documents which
        // one Docker asked for (and the amazon-ecr-credential-helper does it).
        #[allow(deprecated)]
        let request = client
            .get_authorization_token()
            .registry_ids(&registry.account_id);
        request
            .send()
            .await
            .map_err(|e| Error::Aws(DisplayErrorContext(e).to_string()))
    })?;
    let data = data
        .authorization_data()
        .first()
        .ok_or_else(|| Error::Aws("GetAuthorizationToken returned no authorization data".into()))?;
    let token = data
        .authorization_token()
        .ok_or_else(|| Error::Aws("GetAuthorizationToken returned no token".into()))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| Error::Aws("the authorization token is not base64 text".into()))?;
    let (username, secret) = decoded
        .split_once(':')
        .ok_or_else(|| Error::Aws("the authorization token is not `user:password`".into()))?;
    // ECR tokens last 12 hours; one without an expiry is used once, never
    // served from the cache.
    let expires_at = data.expires_at().map_or(0, |t| t.secs());
    Ok(Entry {
        registry: registry.host.clone(),
        username: username.to_owned(),
        secret: secret.to_owned(),
        expires_at,
    })
}
