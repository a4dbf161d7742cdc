//! One sync from a shell, with the AWS configuration of the environment:
//!
//! ```text
//! dns-mirror-sync --domain corp.example.com --master 10.0.0.1 --zone-id Z0123 [--ignore-ttl]
//!                 [--zone-serial NAME] [--dry-run] [--force]
//! dns-mirror-sync --input '{"Domain": ..., "MasterDns": ..., ...}' [--dry-run] [--force]
//! ```
//!
//! `--dry-run` prints the change set and changes nothing; `--force`
//! transfers and compares even when the serials are equal. Exit status 1 on
//! failure, 2 on bad arguments.

use std::process::ExitCode;

use dns_mirror::{Mirror, Options, SyncInput};
use serde_json::{Value, json};

const USAGE: &str = "usage: dns-mirror-sync (--input JSON | --domain D --master HOST[:PORT] \
--zone-id ID [--ignore-ttl] [--zone-serial NAME]) [--dry-run] [--force]";

fn parse(args: &[String]) -> Result<(Value, Options), String> {
    let mut opts = Options::default();
    let mut input: Option<Value> = None;
    let mut fields =
        json!({"Domain": "", "MasterDns": "", "ZoneId": "", "IgnoreTTL": false, "ZoneSerial": ""});
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--dry-run" => opts.dry_run = true,
            "--force" => opts.force = true,
            "--ignore-ttl" => fields["IgnoreTTL"] = json!(true),
            "--input" => {
                let text = value(arg)?;
                input = Some(serde_json::from_str(&text).map_err(|e| format!("--input: {e}"))?);
            }
            "--domain" => fields["Domain"] = json!(value(arg)?),
            "--master" => fields["MasterDns"] = json!(value(arg)?),
            "--zone-id" => fields["ZoneId"] = json!(value(arg)?),
            "--zone-serial" => fields["ZoneSerial"] = json!(value(arg)?),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok((input.unwrap_or(fields), opts))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (value, opts) = match parse(&args) {
        Ok(p) => p,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("{e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let input = match SyncInput::from_json(&value) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("{e}");
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mirror = Mirror::from_env().await;
    match mirror.sync(&input, opts).await {
        Ok(report) => {
            let mirrored = report
                .mirrored_serial
                .map_or_else(|| "none".to_string(), |s| s.to_string());
            if report.up_to_date {
                println!(
                    "serial {} already mirrored: nothing to do",
                    report.primary_serial
                );
                return ExitCode::SUCCESS;
            }
            for s in &report.skipped {
                println!("# skipped (Route 53 cannot hold it): {s}");
            }
            for c in &report.changes {
                println!("{c}");
            }
            if let Some(c) = &report.serial_change {
                println!("{c}");
            }
            let verb = if opts.dry_run {
                "would change"
            } else {
                "changed"
            };
            println!(
                "# {} {verb} {} record sets (serial {mirrored} -> {}) in {} requests",
                input.domain,
                report.changes.len(),
                report.primary_serial,
                report.requests
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
