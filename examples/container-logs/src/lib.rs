//! `awslogs-ship`: the awslogs log driver as a process wrapper. It runs a
//! command (or reads stdin) and ships its stdout and stderr lines to a
//! CloudWatch Logs group, in a stream named `<prefix>/<container-name>/<task-id>`
//! as ECS names them. See the README for the flags and their awslogs options.

pub mod batch;
pub mod buffer;
pub mod cloudwatch;
pub mod metadata;
pub mod multiline;

use std::process::{ExitStatus, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{ArgAction, Parser};
use regex::Regex;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::signal::unix::{SignalKind, signal};
use tokio::task::JoinHandle;

use crate::batch::{Batcher, Event, split_message};
use crate::buffer::{Mode, Receiver, Sender};
use crate::cloudwatch::Stream;
use crate::multiline::Assembler;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Ship a command's stdout and stderr (or stdin) to CloudWatch Logs, like
/// the awslogs log driver.
#[derive(Debug, Parser)]
#[command(name = "awslogs-ship", version)]
pub struct Args {
    /// Log group (awslogs-group).
    #[arg(long, env = "AWSLOGS_GROUP")]
    pub group: String,
    /// Region (awslogs-region); default: the SDK's (AWS_REGION, profile).
    #[arg(long, env = "AWSLOGS_REGION")]
    pub region: Option<String>,
    /// Stream prefix (awslogs-stream-prefix): the stream is
    /// `<prefix>/<container-name>/<task-id>`.
    #[arg(
        long,
        env = "AWSLOGS_STREAM_PREFIX",
        required_unless_present = "stream"
    )]
    pub stream_prefix: Option<String>,
    /// Container name; default: `Name` from the ECS task metadata endpoint.
    #[arg(long, env = "AWSLOGS_CONTAINER_NAME")]
    pub container_name: Option<String>,
    /// Task id, used when the ECS task metadata endpoint
    /// (ECS_CONTAINER_METADATA_URI_V4) is not there.
    #[arg(long, env = "AWSLOGS_TASK_ID")]
    pub task_id: Option<String>,
    /// The whole stream name instead (awslogs-stream).
    #[arg(long, env = "AWSLOGS_STREAM", conflicts_with = "stream_prefix")]
    pub stream: Option<String>,
    /// Create the log group when missing (awslogs-create-group).
    #[arg(long, env = "AWSLOGS_CREATE_GROUP", default_value_t = true, action = ArgAction::Set)]
    pub create_group: bool,
    /// Start-of-entry regex: other lines join the entry before them
    /// (awslogs-multiline-pattern).
    #[arg(long, env = "AWSLOGS_MULTILINE_PATTERN")]
    pub multiline_pattern: Option<String>,
    /// Start-of-entry strftime format, e.g. `%Y-%m-%d %H:%M:%S`
    /// (awslogs-datetime-format).
    #[arg(
        long,
        env = "AWSLOGS_DATETIME_FORMAT",
        conflicts_with = "multiline_pattern"
    )]
    pub datetime_format: Option<String>,
    /// When the buffer is full: wait, or drop lines and report how many (mode).
    #[arg(long, env = "AWSLOGS_MODE", value_enum, default_value_t = Mode::Blocking)]
    pub mode: Mode,
    /// Buffer bound in bytes, with an optional k/m/g suffix (max-buffer-size).
    #[arg(long, env = "AWSLOGS_MAX_BUFFER_SIZE", default_value = "1m", value_parser = parse_size)]
    pub max_buffer_size: usize,
    /// Send what is batched at least this often, e.g. `500ms`, `5s`.
    #[arg(long, env = "AWSLOGS_FLUSH_INTERVAL", default_value = "1s", value_parser = parse_duration)]
    pub flush_interval: Duration,
    /// CloudWatch Logs endpoint (a local emulator).
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// The command and its arguments; without one, stdin is shipped.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// `1048576`, `512k`, `1m`, `1g` (binary multiples, as Docker reads them).
pub fn parse_size(text: &str) -> Result<usize, String> {
    let lower = text.trim().to_ascii_lowercase();
    let lower = lower.strip_suffix('b').unwrap_or(&lower);
    let (digits, unit) = match lower.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => lower.split_at(i),
        None => (lower, ""),
    };
    let shift = match unit {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        _ => return Err(format!("unknown size unit in {text:?} (use k, m or g)")),
    };
    let n: usize = digits
        .parse()
        .map_err(|_| format!("not a size: {text:?}"))?;
    n.checked_mul(1 << shift)
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("size out of range: {text:?}"))
}

/// `250ms`, `2s`, `1m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60_000)
    } else {
        return Err(format!("not a duration: {text:?} (use ms, s or m)"));
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("not a duration: {text:?}"))?;
    Ok(Duration::from_millis(n.saturating_mul(scale).max(1)))
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The stream name: `--stream`, else `<prefix>/<container-name>/<task-id>`
/// with the task id from the ECS task metadata endpoint when there is one
/// (else `--task-id`) and the container name from `--container-name` (else
/// the endpoint).
pub async fn stream_name(args: &Args) -> Result<String, BoxError> {
    if let Some(stream) = &args.stream {
        return Ok(stream.clone());
    }
    let prefix = args
        .stream_prefix
        .as_deref()
        .ok_or("--stream-prefix or --stream is required")?;
    let found = match std::env::var(metadata::ENV) {
        Ok(uri) if !uri.is_empty() => match metadata::fetch(&uri).await {
            Ok(found) => Some(found),
            Err(e) if args.task_id.is_some() => {
                eprintln!("awslogs-ship: task metadata ({uri}): {e}; using --task-id");
                None
            }
            Err(e) => return Err(format!("task metadata ({uri}): {e}").into()),
        },
        _ => None,
    };
    let task_id = found
        .as_ref()
        .map(|m| m.task_id.clone())
        .or_else(|| args.task_id.clone())
        .ok_or("no task id: not on ECS (no ECS_CONTAINER_METADATA_URI_V4) and no --task-id")?;
    let container = args
        .container_name
        .clone()
        .or_else(|| found.and_then(|m| m.container_name))
        .ok_or("no container name: set --container-name")?;
    Ok(format!("{prefix}/{container}/{task_id}"))
}

/// The start-of-entry pattern from `--multiline-pattern` or `--datetime-format`.
fn start_pattern(args: &Args) -> Result<Option<Regex>, BoxError> {
    let source = match (&args.multiline_pattern, &args.datetime_format) {
        (Some(pattern), _) => pattern.clone(),
        (None, Some(format)) => multiline::datetime_pattern(format),
        (None, None) => return Ok(None),
    };
    Ok(Some(Regex::new(&source)?))
}

/// Runs the shipper; returns the process exit code: the command's (128 +
/// the signal when a signal ended it), 0 after stdin, 1 when shipping could
/// not start.
pub async fn run(args: Args) -> i32 {
    match try_run(args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("awslogs-ship: {e}");
            1
        }
    }
}

async fn try_run(args: Args) -> Result<i32, BoxError> {
    let pattern = start_pattern(&args)?;
    let name = stream_name(&args).await?;
    let client = cloudwatch::client(args.region.clone(), args.endpoint_url.clone()).await;
    let stream = Stream::new(client, args.group.clone(), name);
    stream.ensure(args.create_group).await?;

    let (tx, rx) = buffer::buffer(args.mode, args.max_buffer_size);
    let shipper = tokio::spawn(ship(
        rx,
        stream,
        args.flush_interval,
        args.create_group,
        args.max_buffer_size,
    ));
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;

    let code = if let Some((program, rest)) = args.command.split_first() {
        let mut child = tokio::process::Command::new(program)
            .args(rest)
            .stdin(Stdio::inherit())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("starting {program}: {e}"))?;
        let readers = [
            child
                .stdout
                .take()
                .map(|out| read(out, &pattern, &tx, args.flush_interval)),
            child
                .stderr
                .take()
                .map(|err| read(err, &pattern, &tx, args.flush_interval)),
        ];
        drop(tx);
        let status = loop {
            tokio::select! {
                status = child.wait() => break status?,
                _ = term.recv() => forward(child.id(), rustix::process::Signal::TERM),
                _ = int.recv() => forward(child.id(), rustix::process::Signal::INT),
            }
        };
        // The pipes close when the command (and whatever inherited them) ends.
        for reader in readers.into_iter().flatten() {
            let _ = reader.await;
        }
        exit_code(status)
    } else {
        let reader = read(tokio::io::stdin(), &pattern, &tx, args.flush_interval);
        drop(tx);
        let abort = reader.abort_handle();
        tokio::select! {
            _ = reader => 0,
            _ = term.recv() => { abort.abort(); 128 + 15 }
            _ = int.recv() => { abort.abort(); 128 + 2 }
        }
    };
    shipper.await?;
    Ok(code)
}

fn forward(pid: Option<u32>, sig: rustix::process::Signal) {
    let pid = pid
        .and_then(|p| i32::try_from(p).ok())
        .and_then(rustix::process::Pid::from_raw);
    if let Some(pid) = pid {
        let _ = rustix::process::kill_process(pid, sig);
    }
}

fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}

/// Reads lines from `source` until it ends, assembles entries, splits the
/// oversized ones and queues them.
fn read<R>(source: R, pattern: &Option<Regex>, tx: &Sender, interval: Duration) -> JoinHandle<()>
where
    R: AsyncRead + Unpin + Send + 'static,
{
    let mut assembler = Assembler::new(pattern.clone());
    let tx = tx.clone();
    tokio::spawn(async move {
        let mut source = BufReader::new(source);
        let mut line = Vec::new();
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                // Cancel safe: a partial line stays in `line`.
                read = source.read_until(b'\n', &mut line) => {
                    match read {
                        Ok(0) => break,
                        Ok(_) => {}
                        Err(e) => {
                            eprintln!("awslogs-ship: reading: {e}");
                            break;
                        }
                    }
                    if line.last() == Some(&b'\n') {
                        line.pop();
                    }
                    let text = String::from_utf8_lossy(&line).into_owned();
                    line.clear();
                    if let Some(entry) = assembler.line(now_ms(), text) {
                        queue(&tx, entry).await;
                    }
                }
                _ = tick.tick(), if assembler.pending_since().is_some() => {
                    let waited = assembler.pending_since().is_some_and(|since| {
                        now_ms().saturating_sub(since) >= interval.as_millis() as i64
                    });
                    if let Some(entry) = waited.then(|| assembler.flush()).flatten() {
                        queue(&tx, entry).await;
                    }
                }
            }
        }
        if let Some(entry) = assembler.flush() {
            queue(&tx, entry).await;
        }
    })
}

/// Queues an entry as one event per piece of at most 256 KB.
async fn queue(tx: &Sender, entry: Event) {
    for piece in split_message(&entry.message) {
        tx.send(Event::new(entry.timestamp, piece)).await;
    }
}

/// Batches what the readers queue and puts it: when a batch is full, every
/// flush interval, and once every reader is done.
async fn ship(
    mut rx: Receiver,
    stream: Stream,
    interval: Duration,
    create_group: bool,
    max: usize,
) {
    let mut batcher = Batcher::new();
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let full = tokio::select! {
            event = rx.recv() => match event {
                Some(event) => batcher.push(event),
                None => break,
            },
            _ = tick.tick() => batcher.take(),
        };
        report_dropped(&rx, &mut batcher, &stream, create_group, max).await;
        if let Some(batch) = full {
            put(&stream, &batch, create_group).await;
        }
    }
    report_dropped(&rx, &mut batcher, &stream, create_group, max).await;
    if let Some(batch) = batcher.take() {
        put(&stream, &batch, create_group).await;
    }
}

/// Dropped lines are never silent: they are counted on stderr and in the
/// stream itself.
async fn report_dropped(
    rx: &Receiver,
    batcher: &mut Batcher,
    stream: &Stream,
    create_group: bool,
    max: usize,
) {
    let dropped = rx.take_dropped();
    if dropped == 0 {
        return;
    }
    let notice = format!(
        "awslogs-ship: buffer full (max-buffer-size {max} bytes, mode non-blocking): dropped {dropped} log lines"
    );
    eprintln!("{notice}");
    if let Some(batch) = batcher.push(Event::new(now_ms(), notice)) {
        put(stream, &batch, create_group).await;
    }
}

async fn put(stream: &Stream, batch: &[Event], create_group: bool) {
    if let Err(e) = stream.put(batch, create_group).await {
        eprintln!(
            "awslogs-ship: gave up on {} log events for {}/{}: {e}",
            batch.len(),
            stream.group,
            stream.name
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_size("1m"), Ok(1 << 20));
        assert_eq!(parse_size("512k"), Ok(512 << 10));
        assert_eq!(parse_size("2MB"), Ok(2 << 20));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("1x").is_err());
        assert!(parse_size("0").is_err());
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert!(parse_duration("5").is_err());
    }

    #[test]
    fn exit_codes_follow_the_shell() {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(exit_code(ExitStatus::from_raw(7 << 8)), 7);
        assert_eq!(exit_code(ExitStatus::from_raw(9)), 137);
    }

    #[test]
    fn cli_parses() {
        use clap::CommandFactory;
        Args::command().debug_assert();
        let args = Args::try_parse_from([
            "awslogs-ship",
            "--group",
            "g",
            "--stream-prefix",
            "p",
            "--",
            "sh",
            "-c",
            "echo hi",
        ])
        .unwrap();
        assert_eq!(args.command, ["sh", "-c", "echo hi"]);
        assert!(args.create_group);
        assert_eq!(args.mode, Mode::Blocking);
    }
}
