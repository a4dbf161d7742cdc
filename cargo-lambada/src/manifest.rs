//! The route table of a built binary: the binary prints it as JSON when run
//! with `LAMBADA_ROUTES=1` (see `lambada::run`), before touching the network.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::build::{self, BuildError};
use crate::config::{self, Settings};

/// One route, as the binary reports it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RouteEntry {
    /// `http` for API routes (event triggers arrive with their issue).
    pub kind: String,
    pub method: String,
    /// The path in Lambada's spelling.
    pub path: String,
    /// The API Gateway resource path.
    pub apigw_path: String,
    pub handler: String,
    #[serde(default)]
    pub request_content_type: Option<String>,
    #[serde(default)]
    pub response_content_type: Option<String>,
}

/// The whole manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// The lambada-runtime version the binary was built with.
    pub lambada: String,
    pub routes: Vec<RouteEntry>,
}

/// Errors reading the manifest.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("cannot run {0}: {1}")]
    Run(String, std::io::Error),
    #[error("{0} exited with {1} when asked for its routes: {2}")]
    Failed(String, std::process::ExitStatus, String),
    #[error("{0} printed no route table: is it a Lambada app that calls `lambada::run`? ({1})")]
    NotLambada(String, serde_json::Error),
}

/// Runs `binary` and reads its route table.
pub async fn read(binary: &Path) -> Result<Manifest, ManifestError> {
    let name = binary.display().to_string();
    let out = tokio::process::Command::new(binary)
        .env("LAMBADA_ROUTES", "1")
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .output()
        .await
        .map_err(|e| ManifestError::Run(name.clone(), e))?;
    if !out.status.success() {
        return Err(ManifestError::Failed(
            name,
            out.status,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| ManifestError::NotLambada(name, e))
}

/// Prints a route table.
pub fn print_table(m: &Manifest) {
    let w = m
        .routes
        .iter()
        .map(|r| r.path.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let a = m
        .routes
        .iter()
        .map(|r| r.apigw_path.len())
        .max()
        .unwrap_or(8)
        .max(8);
    println!(
        "{:<7} {:<w$}  {:<a$}  {:<18} KIND",
        "METHOD", "PATH", "RESOURCE", "HANDLER"
    );
    for r in &m.routes {
        println!(
            "{:<7} {:<w$}  {:<a$}  {:<18} {}",
            r.method, r.path, r.apigw_path, r.handler, r.kind
        );
    }
}

/// Arguments of `routes`.
#[derive(clap::Args, Debug)]
pub struct RoutesArgs {
    #[command(flatten)]
    pub settings: Settings,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `cargo lambada routes`: builds (host, dev profile) and prints the table.
pub async fn run(args: RoutesArgs) -> Result<(), ManifestError> {
    let mut cfg = config::load(&args.settings)?;
    cfg.target = None; // the binary must run here
    let (binary, _) = build::compile(&cfg, false, true).await?;
    let m = read(&binary).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&m).unwrap_or_default());
    } else {
        print_table(&m);
    }
    Ok(())
}
