//! JSON-lines logging with `tracing`: one object per line, the Lambda
//! request id on every line logged during an invocation.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The filter directives in force: `RUST_LOG`, else `AWS_LAMBDA_LOG_LEVEL`
/// (whose `FATAL`, no `tracing` level, means errors only), else `info`.
fn directives() -> String {
    match std::env::var("RUST_LOG") {
        Ok(l) => l.to_lowercase(),
        Err(_) => match std::env::var("AWS_LAMBDA_LOG_LEVEL").map(|l| l.to_lowercase()) {
            Ok(l) if l == "fatal" => "error".into(),
            Ok(l) => l,
            Err(_) => "info".into(),
        },
    }
}

/// Installs the JSON subscriber unless the application installed its own.
pub(crate) fn init() {
    let json = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .with_ansi(false)
        .with_writer(std::io::stderr);
    let _ = tracing_subscriber::registry()
        .with(json)
        .with(filter(&directives()))
        .try_init();
}

/// `RUST_LOG`'s full syntax, span and field filters included (the
/// `env-filter` feature: it brings a regex engine).
#[cfg(feature = "env-filter")]
fn filter(directives: &str) -> tracing_subscriber::EnvFilter {
    use tracing_subscriber::EnvFilter;
    EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new("info"))
}

/// `RUST_LOG` as levels: `level` and `target=level`, comma-separated
/// (anything else falls back to `info`).
#[cfg(not(feature = "env-filter"))]
fn filter(directives: &str) -> tracing_subscriber::filter::Targets {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    directives
        .parse::<Targets>()
        .unwrap_or_else(|_| Targets::new().with_default(LevelFilter::INFO))
}

#[cfg(all(test, not(feature = "env-filter")))]
mod tests {
    use tracing::Level;
    use tracing_subscriber::filter::LevelFilter;

    use super::filter;

    #[test]
    fn levels_and_targets_filter() {
        let f = filter("warn,lambada=debug");
        assert!(f.would_enable("lambada::runtime", &Level::DEBUG));
        assert!(!f.would_enable("lambada::runtime", &Level::TRACE));
        assert!(f.would_enable("app", &Level::WARN));
        assert!(!f.would_enable("app", &Level::INFO));
        assert_eq!(filter("error").default_level(), Some(LevelFilter::ERROR));
    }

    #[test]
    fn what_does_not_parse_falls_back_to_info() {
        let f = filter("lambada=loud");
        assert_eq!(f.default_level(), Some(LevelFilter::INFO));
        assert!(!f.would_enable("lambada", &Level::DEBUG));
    }
}
