//! `iot-provision`: generates devices with random serial numbers, client
//! ids and activation codes in the article's formats, and sends their
//! registrations to the `register` handler.
//!
//! ```sh
//! # Print 50 registrations, one JSON line each (the device list to keep:
//! # the activation codes go on the boxes).
//! cargo run -p example-iot-catalog --bin iot-provision -- --count 50 > devices.jsonl
//!
//! # Write them as event files, for the local emulator:
//! cargo run -p example-iot-catalog --bin iot-provision -- --count 5 --out devices/
//! for f in devices/*.json; do
//!   cargo lambada invoke -p example-iot-catalog --bin iot-catalog --handler register --event "$f"
//! done
//!
//! # Or invoke the deployed function with each (Lambda's Invoke API, with the
//! # AWS configuration of the environment; `AWS_ENDPOINT_URL` is honoured):
//! cargo run -p example-iot-catalog --bin iot-provision -- --count 50 \
//!   --function lambada-iot-catalog-register > devices.jsonl
//! ```
//!
//! Standard output gets one registration per line, whatever else is done
//! with it; what each invocation answered goes to standard error. The exit
//! status is 1 when any invocation failed.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use aws_sdk_lambda::primitives::Blob;
use clap::Parser;
use iot_catalog::Registration;
use iot_catalog::provision::Fleet;

/// Generates devices (random `SN-…`, `ID-…`, `AC-…`) and sends their
/// registrations to the catalog's `register` handler.
#[derive(Parser, Debug)]
#[command(name = "iot-provision", version)]
struct Args {
    /// How many devices.
    #[arg(long, short = 'n', default_value_t = 50)]
    count: u32,
    /// Things are named this plus their number.
    #[arg(long, value_name = "PREFIX", default_value = "myThing")]
    name_prefix: String,
    /// The number of the first thing (to continue an earlier batch).
    #[arg(long, value_name = "N", default_value_t = 1)]
    first: u32,
    /// The device type.
    #[arg(long = "type", value_name = "TYPE", default_value = "MySmartIoTDevice")]
    device_type: String,
    /// The AWS IoT data endpoint the devices use (`aws iot describe-endpoint
    /// --endpoint-type iot:Data-ATS`).
    #[arg(
        long,
        env = "IOT_ENDPOINT",
        value_name = "HOST",
        default_value = "example.iot.us-east-1.amazonaws.com"
    )]
    endpoint: String,
    /// Invoke this Lambda function with each registration (the deployed
    /// `register` handler: `lambada-iot-catalog-register`).
    #[arg(long, value_name = "NAME")]
    function: Option<String>,
    /// Write each registration to DIR/<device>.json (created when missing),
    /// an event file for `cargo lambada invoke --event`.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

impl Args {
    fn fleet(&self) -> Fleet {
        Fleet {
            name_prefix: self.name_prefix.clone(),
            first: self.first,
            device_type: self.device_type.clone(),
            endpoint: self.endpoint.clone(),
        }
    }
}

/// Writes `reg` to `dir/<device>.json`.
fn write_event(dir: &Path, reg: &Registration) -> Result<PathBuf, String> {
    let path = dir.join(format!("{}.json", reg.device));
    let json = serde_json::to_vec_pretty(reg).map_err(|e| e.to_string())?;
    std::fs::write(&path, json).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// Invokes `function` with `reg` and waits for its answer: the reply, or
/// the function error (`errorType: errorMessage`) or the call's failure.
async fn invoke(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    reg: &Registration,
) -> Result<serde_json::Value, String> {
    let payload = serde_json::to_vec(reg).map_err(|e| e.to_string())?;
    let out = lambda
        .invoke()
        .function_name(function)
        .payload(Blob::new(payload))
        .send()
        .await
        .map_err(|e| aws_sdk_lambda::error::DisplayErrorContext(e).to_string())?;
    let body: serde_json::Value = out
        .payload()
        .and_then(|p| serde_json::from_slice(p.as_ref()).ok())
        .unwrap_or(serde_json::Value::Null);
    if let Some(kind) = out.function_error() {
        let ty = body["errorType"].as_str().unwrap_or(kind);
        let message = body["errorMessage"].as_str().unwrap_or_default();
        return Err(format!("function error {ty}: {message}"));
    }
    Ok(body)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(dir) = &args.out
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        eprintln!("iot-provision: cannot create {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    let lambda = match &args.function {
        Some(_) => {
            let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            Some(aws_sdk_lambda::Client::new(&config))
        }
        None => None,
    };
    let mut failed = 0usize;
    let mut stdout = std::io::stdout().lock();
    for reg in args.fleet().generate(args.count) {
        if let Some(dir) = &args.out
            && let Err(e) = write_event(dir, &reg)
        {
            eprintln!("iot-provision: {e}");
            return ExitCode::FAILURE;
        }
        if let (Some(lambda), Some(function)) = (&lambda, &args.function) {
            match invoke(lambda, function, &reg).await {
                Ok(reply) => eprintln!("{}: {}", reg.device, reply),
                Err(e) => {
                    failed += 1;
                    eprintln!("{}: {e}", reg.device);
                }
            }
        }
        let line = serde_json::to_string(&reg).unwrap_or_default();
        if writeln!(stdout, "{line}").is_err() {
            return ExitCode::FAILURE;
        }
    }
    if failed > 0 {
        eprintln!(
            "iot-provision: {failed} of {} registrations failed",
            args.count
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn defaults_are_the_articles_fleet() {
        let args = Args::try_parse_from(["iot-provision"]).unwrap();
        assert_eq!(args.count, 50);
        assert!(args.function.is_none() && args.out.is_none());
        let fleet = args.fleet();
        assert_eq!(fleet.name_prefix, "myThing");
        assert_eq!(fleet.first, 1);
        assert_eq!(fleet.device_type, "MySmartIoTDevice");
        let args = Args::try_parse_from([
            "iot-provision",
            "-n",
            "3",
            "--first",
            "51",
            "--type",
            "Hub",
            "--endpoint",
            "abc-ats.iot.eu-west-1.amazonaws.com",
            "--function",
            "f",
        ])
        .unwrap();
        let batch = args.fleet().generate(args.count);
        assert_eq!(batch.len(), 3);
        assert_eq!(batch[2].device, "myThing53");
        assert_eq!(batch[0].device_type, "Hub");
        assert_eq!(batch[0].endpoint, "abc-ats.iot.eu-west-1.amazonaws.com");
        assert!(Args::try_parse_from(["iot-provision", "--count", "-1"]).is_err());
    }

    #[test]
    fn event_files_hold_the_registration() {
        let dir = tempfile::tempdir().unwrap();
        let reg = Fleet::default().generate(1).remove(0);
        let path = write_event(dir.path(), &reg).unwrap();
        assert_eq!(path, dir.path().join("myThing1.json"));
        let back: Registration = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(back, reg);
    }
}
