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
    ];
    let env = env.filter(move |k| keys.iter().any(|x| k.as_str().eq_ignore_ascii_case(x)));
    let mut cli = flags.clone();
    if cli.arm64 {
        cli.architecture = Some(Architecture::Arm64);
    }
    let cli_env: Option<BTreeMap<String, String>> =
        cli.environment.take().map(|v| v.into_iter().collect());
    let fig = Figment::new()
        .merge(Serialized::defaults(metadata_without_null(metadata)))
        .merge(Toml::file(project.package_dir.join("Lambada.toml")))
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
    let function = s.function.unwrap_or_else(|| project.bin.clone());
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
        stage: s.stage.unwrap_or_else(|| "prod".into()),
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
        project,
    })
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
mod tests {
    use super::*;

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
            assert_eq!(c.function, "app");
            assert_eq!(c.api_name, "app");
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
}
