//! `cargo lambada`: build, inspect, serve and deploy Lambada apps.
//!
//! This first version reads the route table of a built binary (`routes`);
//! `build`, `package`, `deploy`, `remove`, `serve`, `invoke` and `new` arrive
//! with their issues.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "cargo", bin_name = "cargo")]
enum Cli {
    /// Build, inspect, serve and deploy Lambada apps.
    Lambada(Args),
}

#[derive(clap::Args, Debug)]
#[command(version, about)]
struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Print the route table of a built binary.
    Routes {
        /// Path to the binary (`target/debug/<name>`).
        binary: PathBuf,
        /// Print the manifest as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn routes(binary: &PathBuf, json: bool) -> Result<(), String> {
    let out = Command::new(binary)
        .env("LAMBADA_ROUTES", "1")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} exited with {}: {}",
            binary.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "{} is not a Lambada binary (no route manifest): {e}",
            binary.display()
        )
    })?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&manifest).unwrap_or_default()
        );
        return Ok(());
    }
    println!(
        "{:<8} {:<32} {:<32} HANDLER",
        "METHOD", "PATH", "API GATEWAY RESOURCE"
    );
    for r in manifest["routes"].as_array().into_iter().flatten() {
        println!(
            "{:<8} {:<32} {:<32} {}",
            r["method"].as_str().unwrap_or(""),
            r["path"].as_str().unwrap_or(""),
            r["apigw_path"].as_str().unwrap_or(""),
            r["handler"].as_str().unwrap_or("")
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let Cli::Lambada(args) = Cli::parse();
    let result = match &args.command {
        Cmd::Routes { binary, json } => routes(binary, *json),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
