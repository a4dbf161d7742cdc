//! Configuration: defaults < `[package.metadata.lambada]` < `Lambada.toml`
//! (next to the package's Cargo.toml) < `LAMBADA_*` environment variables <
//! command-line flags. One struct, [`Settings`], is both the flags and the
//! config keys, so the two cannot drift.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Errors while reading the project or its configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the cargo project: {0}")]
    Metadata(#[from] cargo_metadata::Error),
    #[error("invalid configuration: {0}")]
    Figment(#[from] Box<figment::Error>),
    #[error("{0}")]
    Project(String),
    #[error(
        "missing setting `{key}`: set it in [package.metadata.lambada] of {manifest}, in Lambada.toml, with LAMBADA_{env}, or with --{flag}"
    )]
    Missing {
        key: &'static str,
        env: String,
        flag: String,
        manifest: String,
    },
    #[error("invalid setting `{key}`: {message}")]
    Invalid { key: &'static str, message: String },
}

/// The CPU architecture of the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    #[default]
    #[serde(alias = "x86-64", alias = "amd64")]
    #[value(name = "x86_64", alias = "x86-64", alias = "amd64")]
    X86_64,
    #[serde(alias = "aarch64")]
    #[value(alias = "aarch64")]
    Arm64,
}

impl Architecture {
    /// The name Lambda uses.
    pub fn lambda_name(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }
}

/// The front door of the app's HTTP routes: what `deploy` creates and
/// `package` describes in front of the API function.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, Default, Hash,
)]
#[serde(rename_all = "snake_case")]
pub enum ApiKind {
    /// An API Gateway REST API (payload 1.0), one resource per path.
    #[default]
    Rest,
    /// An API Gateway HTTP API (payload 2.0), `$default` stage, auto-deployed.
    Http,
    /// A Lambda function URL (payload 2.0).
    Url,
    /// None: the function alone (for a front door managed elsewhere).
    None,
}

impl ApiKind {
    /// Every kind, in a fixed order.
    pub const ALL: [ApiKind; 4] = [ApiKind::Rest, ApiKind::Http, ApiKind::Url, ApiKind::None];

    /// The config spelling (`rest`, `http`, `url`, `none`).
    pub fn as_str(self) -> &'static str {
        match self {
            ApiKind::Rest => "rest",
            ApiKind::Http => "http",
            ApiKind::Url => "url",
            ApiKind::None => "none",
        }
    }

    /// The kind spelled `s`.
    pub fn parse(s: &str) -> Option<ApiKind> {
        ApiKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for ApiKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who may call a function URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "snake_case")]
pub enum UrlAuth {
    /// Anyone (`NONE`): the function itself decides.
    #[default]
    None,
    /// Callers signing with AWS credentials allowed by IAM (`AWS_IAM`).
    #[value(name = "aws_iam", alias = "aws-iam", alias = "iam")]
    #[serde(alias = "aws-iam", alias = "iam")]
    AwsIam,
}

impl UrlAuth {
    /// Lambda's name for it.
    pub fn lambda_name(self) -> &'static str {
        match self {
            UrlAuth::None => "NONE",
            UrlAuth::AwsIam => "AWS_IAM",
        }
    }
}

/// How the bootstrap is linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Linkage {
    /// No dynamic loader and no shared library: glibc with `-C
    /// target-feature=+crt-static` (a static-pie), or a musl target.
    Static,
    /// Against the system's shared C library.
    Dynamic,
}

impl Linkage {
    /// The default: static for release builds (what Lambda runs), dynamic
    /// for debug builds (they share cargo's cache).
    pub fn default_for(release: bool) -> Linkage {
        if release {
            Linkage::Static
        } else {
            Linkage::Dynamic
        }
    }
}

/// The stage whose resources keep the plain names.
pub const DEFAULT_STAGE: &str = "prod";

/// Every setting, as a flag and as a config key. All optional: defaults are
/// applied after the layers are merged (a clap default would always win).
#[derive(clap::Args, Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Path to the project's Cargo.toml.
    #[arg(long, value_name = "PATH")]
    #[serde(skip)]
    pub manifest_path: Option<PathBuf>,
    /// The package to build (in a workspace).
    #[arg(long, short = 'p', value_name = "PACKAGE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// The binary to build (when the package has several).
    #[arg(long, value_name = "NAME")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bin: Option<String>,
    /// The Lambda function's name (default: the binary's name).
    #[arg(long, value_name = "NAME")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// The S3 bucket for the code (created when missing).
    #[arg(long, value_name = "BUCKET")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// The AWS region (default: the AWS configuration's, else us-east-1).
    #[arg(long, value_name = "REGION")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The API Gateway stage (default: prod).
    #[arg(long, value_name = "STAGE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// Memory in MB (default: 128).
    #[arg(long, value_name = "MB")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<i32>,
    /// Timeout in seconds (default: 30).
    #[arg(long, value_name = "SECONDS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i32>,
    /// CPU architecture (default: x86_64).
    #[arg(long, value_enum)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub architecture: Option<Architecture>,
    /// Shorthand for `--architecture arm64`.
    #[arg(long)]
    #[serde(skip)]
    pub arm64: bool,
    /// Environment variables of the function (`--env KEY=VALUE`, repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_kv)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<Vec<(String, String)>>,
    /// VPC subnet ids (repeatable).
    #[arg(long = "subnet", value_name = "ID")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnets: Option<Vec<String>>,
    /// VPC security group ids (repeatable).
    #[arg(long = "security-group", value_name = "ID")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_groups: Option<Vec<String>>,
    /// The execution role's ARN (default: a role created for the function).
    #[arg(long, value_name = "ARN")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Extra managed policy ARNs for the created role (repeatable).
    #[arg(long = "policy", value_name = "ARN")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<String>>,
    /// The REST API's name (default: the function's name).
    #[arg(long, value_name = "NAME")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_name: Option<String>,
    /// The AWS endpoint (LocalStack, moto); also `AWS_ENDPOINT_URL`.
    #[arg(long, value_name = "URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    /// The Rust target triple to build for.
    #[arg(long, value_name = "TRIPLE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The front door: `rest` (default), `http`, `url` or `none`.
    #[arg(long, value_enum)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api: Option<ApiKind>,
    /// Who may call a function URL (`api = url`): `none` (default) or `aws_iam`.
    #[arg(long, value_enum)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url_auth: Option<UrlAuth>,
    /// A custom domain name for the API (`api.example.com`).
    #[arg(long, value_name = "NAME")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// The ACM certificate (in the API's region) of `domain`.
    #[arg(long, value_name = "ARN")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_arn: Option<String>,
    /// The path under `domain` the API answers at (default: the root).
    #[arg(long, value_name = "PATH")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_path: Option<String>,
    /// How the bootstrap is linked (default: `static` for release builds,
    /// `dynamic` for debug ones).
    #[arg(long, value_enum)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linkage: Option<Linkage>,
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("expected KEY=VALUE, got `{s}`"))
}

/// The package and binary being worked on.
#[derive(Debug, Clone)]
pub struct Project {
    /// The package's Cargo.toml.
    pub manifest_path: PathBuf,
    /// The package's directory.
    pub package_dir: PathBuf,
    /// The package name.
    pub package: String,
    /// The binary target's name.
    pub bin: String,
    /// Cargo's target directory.
    pub target_dir: PathBuf,
}

/// Settings after layering and defaults.
#[derive(Debug, Clone)]
pub struct Config {
    pub project: Project,
    pub function: String,
    pub bucket: Option<String>,
    pub region: Option<String>,
    pub stage: String,
    pub memory: i32,
    pub timeout: i32,
    pub architecture: Architecture,
    pub environment: BTreeMap<String, String>,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub role: Option<String>,
    pub policies: Vec<String>,
    pub api_name: String,
    pub endpoint_url: Option<String>,
    pub target: Option<String>,
    /// CORS settings from configuration (replacing the code's); also in
    /// `environment` as `LAMBADA_CORS`, which the runtime reads.
    pub cors: Option<lambada::Cors>,
    /// The authorizers routes may name (`auth = "name"`), by name.
    pub authorizers: BTreeMap<String, crate::auth::AuthorizerConfig>,
    /// The front door.
    pub api: ApiKind,
    /// Who may call the function URL (`api = url`).
    pub url_auth: UrlAuth,
    /// The custom domain, if any.
    pub domain: Option<Domain>,
    /// How the bootstrap is linked; `None`: the default for the profile.
    pub linkage: Option<Linkage>,
}

/// A custom domain name in front of the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    /// `api.example.com`.
    pub name: String,
    /// Its ACM certificate, in the API's region.
    pub certificate_arn: String,
    /// The path the API answers at: empty for the root, else `v1` (no
    /// slashes at either end).
    pub base_path: String,
}

impl Domain {
    /// The URL the API answers at through the domain.
    pub fn url(&self) -> String {
        if self.base_path.is_empty() {
            format!("https://{}/", self.name)
        } else {
            format!("https://{}/{}/", self.name, self.base_path)
        }
    }
}

/// The config keys as they may appear in files (the environment map is a
/// table there, a list of pairs on the command line).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // `package` and `bin` pick the project before the layers are read (`layered_bin`)
struct FileSettings {
    package: Option<String>,
    bin: Option<String>,
    function: Option<String>,
    bucket: Option<String>,
    region: Option<String>,
    stage: Option<String>,
    memory: Option<i32>,
    timeout: Option<i32>,
    architecture: Option<Architecture>,
    environment: Option<BTreeMap<String, String>>,
    subnets: Option<Vec<String>>,
    security_groups: Option<Vec<String>>,
    role: Option<String>,
    policies: Option<Vec<String>>,
    api_name: Option<String>,
    endpoint_url: Option<String>,
    target: Option<String>,
    cors: Option<lambada::Cors>,
    authorizers: Option<BTreeMap<String, crate::auth::AuthorizerConfig>>,
    api: Option<ApiKind>,
    url_auth: Option<UrlAuth>,
    domain: Option<String>,
    certificate_arn: Option<String>,
    base_path: Option<String>,
    linkage: Option<Linkage>,
    /// `[stages.NAME]`: any of these keys, for one stage.
    stages: Option<BTreeMap<String, serde_json::Value>>,
}

/// `bin` as the configuration layers below the flags set it.
fn layered_bin(metadata: &serde_json::Value, package_dir: &Path) -> Option<String> {
    let meta_bin = metadata.pointer("/lambada/bin").cloned();
    Figment::from(Serialized::defaults(serde_json::json!({ "bin": meta_bin })))
        .merge(Toml::file(package_dir.join("Lambada.toml")))
        .merge(Env::prefixed("LAMBADA_").only(&["bin"]))
        .extract_inner::<Option<String>>("bin")
        .ok()
        .flatten()
}

fn find_project(settings: &Settings) -> Result<(Project, serde_json::Value), ConfigError> {
    let mut cmd = cargo_metadata::MetadataCommand::new();
    cmd.no_deps();
    if let Some(p) = &settings.manifest_path {
        cmd.manifest_path(p);
    }
    let meta = cmd.exec()?;
    let has_bin = |p: &&cargo_metadata::Package| p.targets.iter().any(|t| t.is_bin());
    let package = match &settings.package {
        Some(name) => meta
            .packages
            .iter()
            .find(|p| p.name.as_str() == name)
            .ok_or_else(|| {
                ConfigError::Project(format!("no package `{name}` in this workspace"))
            })?,
        None => match settings
            .manifest_path
            .as_ref()
            .and_then(|m| std::fs::canonicalize(m).ok())
            .and_then(|m| {
                meta.packages
                    .iter()
                    .find(|p| p.manifest_path.as_std_path() == m)
            })
            // As `cargo build` does: the package whose directory we are in.
            .or_else(|| {
                if settings.manifest_path.is_some() {
                    return None;
                }
                let here = std::env::current_dir().ok()?;
                let manifest = here
                    .ancestors()
                    .map(|d| d.join("Cargo.toml"))
                    .find(|m| m.is_file())?;
                let manifest = std::fs::canonicalize(manifest).ok()?;
                meta.packages
                    .iter()
                    .find(|p| p.manifest_path.as_std_path() == manifest)
            })
            .or_else(|| meta.root_package())
        {
            Some(p) => p,
            None => {
                let bins: Vec<_> = meta
                    .workspace_packages()
                    .into_iter()
                    .filter(has_bin)
                    .collect();
                match bins.as_slice() {
                    [one] => *one,
                    _ => {
                        return Err(ConfigError::Project(
                            "this is a workspace with several binary packages: choose one with -p / --package or --manifest-path"
                                .into(),
                        ));
                    }
                }
            }
        },
    };
    let bins: Vec<&str> = package
        .targets
        .iter()
        .filter(|t| t.is_bin())
        .map(|t| t.name.as_str())
        .collect();
    // `--bin`, else `bin` from the layers (LAMBADA_BIN, Lambada.toml,
    // [package.metadata.lambada]), else the package's `default-run`, else
    // its only binary.
    let package_dir_early: PathBuf = Path::new(package.manifest_path.as_std_path())
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let chosen = settings.bin.clone().or_else(|| {
        layered_bin(&package.metadata, &package_dir_early).or_else(|| package.default_run.clone())
    });
    let bin = match &chosen {
        Some(b) if bins.contains(&b.as_str()) => b.clone(),
        Some(b) => {
            return Err(ConfigError::Project(format!(
                "package `{}` has no binary `{b}` (it has: {})",
                package.name,
                bins.join(", ")
            )));
        }
        None => match bins.as_slice() {
            [one] => (*one).to_owned(),
            [] => {
                return Err(ConfigError::Project(format!(
                    "package `{}` has no binary",
                    package.name
                )));
            }
            many => {
                return Err(ConfigError::Project(format!(
                    "package `{}` has several binaries ({}): choose one with --bin, `bin` in [package.metadata.lambada], or `default-run`",
                    package.name,
                    many.join(", ")
                )));
            }
        },
    };
    let manifest_path: PathBuf = package.manifest_path.clone().into();
    let package_dir = manifest_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let lambada_meta = package
        .metadata
        .get("lambada")
        .cloned()
        .unwrap_or(serde_json::Value::Null);
    Ok((
        Project {
            manifest_path,
            package_dir,
            package: package.name.to_string(),
            bin,
            target_dir: meta.target_directory.clone().into(),
        },
        lambada_meta,
    ))
}

/// Resolves the configuration for the flags given.
pub fn load(flags: &Settings) -> Result<Config, ConfigError> {
    let (project, metadata) = find_project(flags)?;
    load_layers(flags, project, metadata, Env::prefixed("LAMBADA_"))
}

fn load_layers(
    flags: &Settings,
    project: Project,
    metadata: serde_json::Value,
    env: Env,
) -> Result<Config, ConfigError> {
    // Only the config keys are read from the environment: LAMBADA_MODE,
    // LAMBADA_ROUTES and friends belong to the runtime.
    let keys = [
        "PACKAGE",
        "BIN",
        "FUNCTION",
        "BUCKET",
        "REGION",
        "STAGE",
        "MEMORY",
        "TIMEOUT",
        "ARCHITECTURE",
        "ROLE",
        "API_NAME",
        "ENDPOINT_URL",
        "TARGET",
        "SUBNETS",
        "SECURITY_GROUPS",
        "POLICIES",
        "API",
        "URL_AUTH",
        "DOMAIN",
        "CERTIFICATE_ARN",
        "BASE_PATH",
        "LINKAGE",
    ];
    let env = env.filter(move |k| keys.iter().any(|x| k.as_str().eq_ignore_ascii_case(x)));
    let mut cli = flags.clone();
    if cli.arm64 {
        cli.architecture = Some(Architecture::Arm64);
    }
    let cli_env: Option<BTreeMap<String, String>> =
        cli.environment.take().map(|v| v.into_iter().collect());
    let metadata = metadata_without_null(metadata);
    let file = project.package_dir.join("Lambada.toml");
    // The stage first (any layer may set it), then each file's section for
    // that stage over the file itself.
    let stage: String = match Figment::new()
        .merge(Serialized::defaults(&metadata))
        .merge(Toml::file(&file))
        .merge(env.clone())
        .merge(Serialized::defaults(&cli))
        .extract_inner::<String>("stage")
    {
        Ok(s) => s,
        Err(e) if e.missing() => DEFAULT_STAGE.into(),
        Err(e) => return Err(Box::new(e).into()),
    };
    check_name("stage", &stage, 128)?;
    let file_stages: Option<BTreeMap<String, serde_json::Value>> = Figment::from(Toml::file(&file))
        .extract_inner("stages")
        .ok();
    let mut stage_sets_function = false;
    for (origin, stages) in [
        (
            "[package.metadata.lambada.stages]",
            metadata.get("stages").cloned(),
        ),
        (
            "[stages] of Lambada.toml",
            file_stages.map(|s| serde_json::json!(s)),
        ),
    ] {
        let Some(stages) = stages else { continue };
        let Some(stages) = stages.as_object() else {
            return Err(ConfigError::Invalid {
                key: "stages",
                message: format!("{origin} is a table of stages (`[stages.dev]`)"),
            });
        };
        for (name, section) in stages {
            check_stage_section(origin, name, section)?;
            if *name == stage && section.get("function").is_some() {
                stage_sets_function = true;
            }
        }
    }
    let section = |v: &serde_json::Value| {
        v.pointer(&format!("/stages/{stage}"))
            .cloned()
            .unwrap_or_else(|| serde_json::json!({}))
    };
    let fig = Figment::new()
        .merge(Serialized::defaults(&metadata))
        .merge(Serialized::defaults(section(&metadata)))
        .merge(Toml::file(&file))
        .merge(Figment::from(Toml::file(&file)).focus(&format!("stages.{stage}")))
        .merge(env);
    // `LAMBADA_CORS` is JSON (the same text the runtime reads), not
    // figment's `{key=value}` syntax; it sits at the environment's layer.
    let fig = match std::env::var("LAMBADA_CORS")
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        Some(json) => {
            let v: serde_json::Value =
                serde_json::from_str(&json).map_err(|e| ConfigError::Invalid {
                    key: "cors",
                    message: format!("LAMBADA_CORS is not JSON: {e}"),
                })?;
            Figment::new()
                .merge(fig)
                .merge(Serialized::default("cors", v))
        }
        None => fig,
    };
    let fig = fig.merge(Serialized::defaults(&cli));
    let fig = match cli_env {
        Some(e) => fig.merge(Serialized::default("environment", e)),
        None => fig,
    };
    let s: FileSettings = fig.extract().map_err(Box::new)?;
    // Every stage but the default one carries its name in the function's
    // name, and so in every name derived from it, unless its own section
    // names the function.
    let mut function = s.function.unwrap_or_else(|| project.bin.clone());
    if stage != DEFAULT_STAGE && !stage_sets_function {
        function = format!("{function}-{stage}");
    }
    check_name("function", &function, 64)?;
    if let Some(b) = &s.bucket {
        let ok = (3..=63).contains(&b.len())
            && b.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
            && b.starts_with(|c: char| c.is_ascii_alphanumeric())
            && b.ends_with(|c: char| c.is_ascii_alphanumeric());
        if !ok {
            return Err(ConfigError::Invalid {
                key: "bucket",
                message: format!(
                    "`{b}`: an S3 bucket name is 3 to 63 lowercase letters, digits, `.` and `-`, starting and ending with a letter or digit"
                ),
            });
        }
    }
    let domain = match (s.domain, s.certificate_arn) {
        (None, None) => None,
        (None, Some(_)) => {
            return Err(ConfigError::Invalid {
                key: "certificate_arn",
                message: "is set but `domain` is not: name the domain it is for".into(),
            });
        }
        (Some(d), None) => {
            return Err(ConfigError::Invalid {
                key: "certificate_arn",
                message: format!(
                    "the custom domain `{d}` needs the ARN of its ACM certificate (in the API's region): set `certificate_arn`"
                ),
            });
        }
        (Some(name), Some(certificate_arn)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            let label_ok = |l: &str| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            };
            if name.len() > 253 || name.split('.').count() < 2 || !name.split('.').all(label_ok) {
                return Err(ConfigError::Invalid {
                    key: "domain",
                    message: format!("`{name}` is not a domain name (`api.example.com`)"),
                });
            }
            if !certificate_arn.starts_with("arn:") || !certificate_arn.contains(":acm:") {
                return Err(ConfigError::Invalid {
                    key: "certificate_arn",
                    message: format!(
                        "`{certificate_arn}` is not an ACM certificate ARN (`arn:aws:acm:REGION:ACCOUNT:certificate/ID`)"
                    ),
                });
            }
            let base_path = s.base_path.unwrap_or_default().trim_matches('/').to_owned();
            if !base_path
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~/".contains(&b))
            {
                return Err(ConfigError::Invalid {
                    key: "base_path",
                    message: format!("`{base_path}`: a base path is letters, digits and `-._~/`"),
                });
            }
            Some(Domain {
                name,
                certificate_arn,
                base_path,
            })
        }
    };
    if s.url_auth.is_some() && s.api != Some(ApiKind::Url) {
        return Err(ConfigError::Invalid {
            key: "url_auth",
            message: "applies to function URLs only: set `api = \"url\"` too".into(),
        });
    }
    if let Some(m) = s.memory.filter(|m| !(128..=10240).contains(m)) {
        return Err(ConfigError::Invalid {
            key: "memory",
            message: format!("{m} MB: Lambda allows 128 to 10240"),
        });
    }
    if let Some(t) = s.timeout.filter(|t| !(1..=900).contains(t)) {
        return Err(ConfigError::Invalid {
            key: "timeout",
            message: format!("{t} s: Lambda allows 1 to 900"),
        });
    }
    let mut environment = s.environment.unwrap_or_default();
    if let Some(c) = &s.cors {
        c.validate().map_err(|message| ConfigError::Invalid {
            key: "cors",
            message,
        })?;
        let json = serde_json::to_string(c).expect("CORS settings serialize");
        environment.insert("LAMBADA_CORS".into(), json);
    }
    let authorizers = s.authorizers.unwrap_or_default();
    for (name, a) in &authorizers {
        a.validate(name).map_err(|message| ConfigError::Invalid {
            key: "authorizers",
            message,
        })?;
    }
    Ok(Config {
        cors: s.cors,
        authorizers,
        api_name: s.api_name.unwrap_or_else(|| function.clone()),
        function,
        bucket: s.bucket,
        region: s.region,
        memory: s.memory.unwrap_or(128),
        timeout: s.timeout.unwrap_or(30),
        architecture: s.architecture.unwrap_or_default(),
        environment,
        subnets: s.subnets.unwrap_or_default(),
        security_groups: s.security_groups.unwrap_or_default(),
        role: s.role,
        policies: s.policies.unwrap_or_default(),
        endpoint_url: s.endpoint_url,
        target: s.target,
        api: s.api.unwrap_or_default(),
        url_auth: s.url_auth.unwrap_or_default(),
        domain,
        linkage: s.linkage,
        stage,
        project,
    })
}

/// A stage's section holds the keys of the top level, minus those that
/// pick the binary or the stage.
fn check_stage_section(
    origin: &str,
    name: &str,
    section: &serde_json::Value,
) -> Result<(), ConfigError> {
    let invalid = |message: String| ConfigError::Invalid {
        key: "stages",
        message,
    };
    let Some(keys) = section.as_object() else {
        return Err(invalid(format!(
            "{origin}: `{name}` is a table of settings (`[stages.{name}]`)"
        )));
    };
    for k in ["stage", "stages", "package", "bin"] {
        if keys.contains_key(k) {
            return Err(invalid(format!(
                "{origin}: the `{name}` stage sets `{k}`, which picks the stage or the binary and so cannot depend on it"
            )));
        }
    }
    serde_json::from_value::<FileSettings>(section.clone())
        .map(|_| ())
        .map_err(|e| invalid(format!("{origin}: the `{name}` stage: {e}")))
}

/// Lambda's and API Gateway's name rule: letters, digits, `-` and `_`, at
/// most `max` characters; checked before any AWS call.
fn check_name(key: &'static str, value: &str, max: usize) -> Result<(), ConfigError> {
    if value.is_empty()
        || value.len() > max
        || !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ConfigError::Invalid {
            key,
            message: format!(
                "`{value}` ({} characters): AWS allows 1 to {max} letters, digits, `-` and `_`",
                value.len()
            ),
        });
    }
    Ok(())
}

fn metadata_without_null(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Null => serde_json::json!({}),
        other => other,
    }
}

impl Config {
    /// The bucket, or the error naming the key.
    pub fn require_bucket(&self) -> Result<&str, ConfigError> {
        self.bucket
            .as_deref()
            .filter(|b| !b.is_empty())
            .ok_or_else(|| ConfigError::Missing {
                key: "bucket",
                env: "BUCKET".into(),
                flag: "bucket".into(),
                manifest: self.project.manifest_path.display().to_string(),
            })
    }

    /// Where build artifacts of this function go.
    pub fn artifact_dir(&self) -> PathBuf {
        self.project.target_dir.join("lambada").join(&self.function)
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return figment::Error
pub(crate) mod tests {
    use super::*;

    /// A configuration with every default, for the function `function`.
    pub(crate) fn config(function: &str) -> Config {
        let mut c = load_layers(
            &Settings::default(),
            project(Path::new("/nonexistent")),
            serde_json::Value::Null,
            Env::prefixed("LAMBADA_TEST_NOTHING_"),
        )
        .expect("the defaults load");
        c.function = function.into();
        c.api_name = function.into();
        c
    }

    fn project(dir: &Path) -> Project {
        Project {
            manifest_path: dir.join("Cargo.toml"),
            package_dir: dir.to_path_buf(),
            package: "app".into(),
            bin: "app".into(),
            target_dir: dir.join("target"),
        }
    }

    #[test]
    fn layers_in_order() {
        figment::Jail::expect_with(|jail| {
            let dir = jail.directory().to_path_buf();
            let meta = serde_json::json!({"bucket": "from-metadata", "memory": 256, "stage": "meta", "timeout": 10});
            jail.create_file("Lambada.toml", "stage = \"file\"\nmemory = 512\n")?;
            jail.set_env("LAMBADA_MEMORY", "1024");
            jail.set_env("LAMBADA_MODE", "http"); // the runtime's, ignored here
            let flags = Settings {
                timeout: Some(60),
                ..Settings::default()
            };
            let c = load_layers(&flags, project(&dir), meta, Env::prefixed("LAMBADA_")).unwrap();
            assert_eq!(c.bucket.as_deref(), Some("from-metadata"));
            assert_eq!(c.stage, "file");
            assert_eq!(c.memory, 1024);
            assert_eq!(c.timeout, 60);
            // Not the default stage: its name is in the function's.
            assert_eq!(c.function, "app-file");
            assert_eq!(c.api_name, "app-file");
            Ok(())
        });
    }

    #[test]
    fn bin_comes_from_the_layers() {
        figment::Jail::expect_with(|jail| {
            let dir = jail.directory().to_path_buf();
            let meta = serde_json::json!({"lambada": {"bin": "from-metadata"}});
            assert_eq!(layered_bin(&serde_json::Value::Null, &dir), None);
            assert_eq!(layered_bin(&meta, &dir).as_deref(), Some("from-metadata"));
            jail.create_file("Lambada.toml", "bin = \"from-file\"\n")?;
            assert_eq!(layered_bin(&meta, &dir).as_deref(), Some("from-file"));
            jail.set_env("LAMBADA_BIN", "from-env");
            assert_eq!(layered_bin(&meta, &dir).as_deref(), Some("from-env"));
            Ok(())
        });
    }

    #[test]
    fn flags_environment_and_arm64() {
        figment::Jail::expect_with(|jail| {
            let dir = jail.directory().to_path_buf();
            let meta =
                serde_json::json!({"environment": {"A": "1", "B": "2"}, "architecture": "x86_64"});
            let flags = Settings {
                environment: Some(vec![("C".into(), "3".into())]),
                arm64: true,
                ..Settings::default()
            };
            let c = load_layers(&flags, project(&dir), meta, Env::prefixed("LAMBADA_")).unwrap();
            assert_eq!(c.environment.get("C").map(String::as_str), Some("3"));
            assert_eq!(c.architecture, Architecture::Arm64);
            Ok(())
        });
    }

    #[test]
    fn missing_bucket_names_the_key_and_bad_values_are_refused() {
        figment::Jail::expect_with(|jail| {
            let dir = jail.directory().to_path_buf();
            let c = load_layers(
                &Settings::default(),
                project(&dir),
                serde_json::Value::Null,
                Env::prefixed("LAMBADA_"),
            )
            .unwrap();
            let e = c.require_bucket().unwrap_err().to_string();
            assert!(
                e.contains("`bucket`") && e.contains("LAMBADA_BUCKET") && e.contains("--bucket"),
                "{e}"
            );
            let meta = serde_json::json!({"memory": 64});
            let e = load_layers(
                &Settings::default(),
                project(&dir),
                meta,
                Env::prefixed("LAMBADA_"),
            )
            .unwrap_err();
            assert!(e.to_string().contains("memory"), "{e}");
            let meta = serde_json::json!({"bukket": "typo"});
            let e = load_layers(
                &Settings::default(),
                project(&dir),
                meta,
                Env::prefixed("LAMBADA_"),
            )
            .unwrap_err();
            assert!(e.to_string().contains("bukket"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn cors_layers_reach_the_function_environment() {
        figment::Jail::expect_with(|jail| {
            let dir = jail.directory().to_path_buf();
            let load = |meta: serde_json::Value| {
                load_layers(
                    &Settings::default(),
                    project(&dir),
                    meta,
                    Env::prefixed("LAMBADA_"),
                )
            };
            let none = load(serde_json::Value::Null).unwrap();
            assert!(none.cors.is_none());
            assert!(!none.environment.contains_key("LAMBADA_CORS"));

            let meta = serde_json::json!({"cors": {"origins": ["https://app.example.com"], "max_age": 600}});
            let c = load(meta.clone()).unwrap();
            let cors = c.cors.as_ref().unwrap();
            assert_eq!(cors.origins, ["https://app.example.com"]);
            assert_eq!(cors.max_age, Some(600));
            let sent: lambada::Cors = serde_json::from_str(&c.environment["LAMBADA_CORS"]).unwrap();
            assert_eq!(sent.origins, cors.origins);

            // Lambada.toml over the metadata, LAMBADA_CORS (JSON) over both,
            // key by key as every table merges.
            jail.create_file("Lambada.toml", "[cors]\ncredentials = true\n")?;
            jail.set_env("LAMBADA_CORS", r#"{"origins": ["http://localhost:5173"]}"#);
            let c = load(meta.clone()).unwrap();
            let cors = c.cors.unwrap();
            assert_eq!(cors.origins, ["http://localhost:5173"]);
            assert!(cors.credentials);
            assert_eq!(cors.max_age, Some(600));

            jail.set_env("LAMBADA_CORS", "{not json");
            let e = load(meta.clone()).unwrap_err().to_string();
            assert!(e.contains("LAMBADA_CORS is not JSON"), "{e}");
            jail.set_env(
                "LAMBADA_CORS",
                r#"{"origins": ["https://app.example.com/"]}"#,
            );
            let e = load(meta.clone()).unwrap_err().to_string();
            assert!(e.contains("cors") && e.contains("app.example.com/"), "{e}");
            jail.set_env("LAMBADA_CORS", r#"{"origin": ["https://a.example"]}"#);
            let e = load(meta).unwrap_err().to_string();
            assert!(e.contains("origin"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn stages_override_any_key_and_name_every_resource() {
        figment::Jail::expect_with(|jail| {
            let dir = jail.directory().to_path_buf();
            let meta = serde_json::json!({
                "memory": 256,
                "api": "rest",
                "stages": {
                    "dev": {"memory": 512, "api": "http"},
                    "eu": {"function": "app-europe", "region": "eu-west-1"},
                }
            });
            let load = |flags: &Settings| {
                load_layers(
                    flags,
                    project(&dir),
                    meta.clone(),
                    Env::prefixed("LAMBADA_"),
                )
            };
            let prod = load(&Settings::default()).unwrap();
            assert_eq!(
                (
                    prod.stage.as_str(),
                    prod.function.as_str(),
                    prod.memory,
                    prod.api
                ),
                ("prod", "app", 256, ApiKind::Rest)
            );
            let dev = Settings {
                stage: Some("dev".into()),
                ..Settings::default()
            };
            let c = load(&dev).unwrap();
            assert_eq!(
                (c.function.as_str(), c.api_name.as_str(), c.memory, c.api),
                ("app-dev", "app-dev", 512, ApiKind::Http)
            );
            // Flags still win over the stage's section.
            let c = load(&Settings {
                memory: Some(1024),
                ..dev.clone()
            })
            .unwrap();
            assert_eq!(c.memory, 1024);
            // A stage that names its function keeps that name.
            jail.set_env("LAMBADA_STAGE", "eu");
            let c = load(&Settings::default()).unwrap();
            assert_eq!(
                (c.function.as_str(), c.region.as_deref()),
                ("app-europe", Some("eu-west-1"))
            );
            // Lambada.toml's sections lie over the metadata's.
            jail.create_file("Lambada.toml", "[stages.eu]\nmemory = 2048\n")?;
            assert_eq!(load(&Settings::default()).unwrap().memory, 2048);
            // A stage without a section is fine; a bad one is refused,
            // whichever stage is deployed.
            jail.set_env("LAMBADA_STAGE", "qa");
            assert_eq!(load(&Settings::default()).unwrap().function, "app-qa");
            jail.set_env("LAMBADA_STAGE", "no stage");
            let e = load(&Settings::default()).unwrap_err().to_string();
            assert!(e.contains("`stage`") && e.contains("no stage"), "{e}");
            jail.set_env("LAMBADA_STAGE", "prod");
            let bad = serde_json::json!({"stages": {"dev": {"memroy": 1}}});
            let e = load_layers(
                &Settings::default(),
                project(&dir),
                bad,
                Env::prefixed("LAMBADA_"),
            )
            .unwrap_err()
            .to_string();
            assert!(e.contains("`dev` stage") && e.contains("memroy"), "{e}");
            let bad = serde_json::json!({"stages": {"dev": {"stage": "x"}}});
            let e = load_layers(
                &Settings::default(),
                project(&dir),
                bad,
                Env::prefixed("LAMBADA_"),
            )
            .unwrap_err()
            .to_string();
            assert!(e.contains("sets `stage`"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn front_door_domain_and_names_are_checked() {
        figment::Jail::expect_with(|jail| {
            let dir = jail.directory().to_path_buf();
            let load = |meta: serde_json::Value| {
                load_layers(
                    &Settings::default(),
                    project(&dir),
                    meta,
                    Env::prefixed("LAMBADA_"),
                )
            };
            let c = load(serde_json::json!({
                "api": "http",
                "domain": "API.Example.com.",
                "certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/abc",
                "base_path": "/v1/",
            }))
            .unwrap();
            let d = c.domain.unwrap();
            assert_eq!(
                (d.name.as_str(), d.base_path.as_str()),
                ("api.example.com", "v1")
            );
            assert_eq!(d.url(), "https://api.example.com/v1/");
            for (meta, key) in [
                (
                    serde_json::json!({"domain": "api.example.com"}),
                    "certificate_arn",
                ),
                (
                    serde_json::json!({"certificate_arn": "arn:aws:acm:r:1:certificate/x"}),
                    "certificate_arn",
                ),
                (
                    serde_json::json!({"domain": "not a domain", "certificate_arn": "arn:aws:acm:r:1:certificate/x"}),
                    "domain",
                ),
                (
                    serde_json::json!({"domain": "a.example.com", "certificate_arn": "arn:aws:iam::1:x"}),
                    "certificate_arn",
                ),
                (serde_json::json!({"url_auth": "aws_iam"}), "url_auth"),
                (serde_json::json!({"api": "grpc"}), "api"),
                (serde_json::json!({"function": "x".repeat(65)}), "function"),
                (serde_json::json!({"function": "has space"}), "function"),
                (serde_json::json!({"bucket": "b1"}), "bucket"),
                (serde_json::json!({"bucket": "Upper-Case"}), "bucket"),
            ] {
                let e = load(meta.clone()).unwrap_err().to_string();
                assert!(e.contains(key), "{meta}: {e}");
            }
            let c = load(serde_json::json!({"api": "url", "url_auth": "aws_iam"})).unwrap();
            assert_eq!((c.api, c.url_auth), (ApiKind::Url, UrlAuth::AwsIam));
            jail.set_env("LAMBADA_API", "none");
            assert_eq!(load(serde_json::Value::Null).unwrap().api, ApiKind::None);
            Ok(())
        });
    }
}
