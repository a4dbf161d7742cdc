//! JSON-lines logging with `tracing`: one object per line, the Lambda
//! request id on every line logged during an invocation.

use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber unless the application installed its own.
/// The level comes from `RUST_LOG`, else `AWS_LAMBDA_LOG_LEVEL`, else `info`.
pub(crate) fn init() {
    let filter = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL"))
        .map(|l| l.to_lowercase())
        .unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("info")))
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .try_init();
}
