//! What the fuzz targets share: the route table ([`app`]), one tokio
//! runtime, the panic hook, and the checks of a response payload
//! ([`check`]).
//!
//! The targets (`fuzz_targets/*.rs`) are run with `cargo +nightly fuzz run
//! TARGET` from the repository root, or all of them by `./scripts/fuzz`.

pub mod app;
pub mod check;
pub mod event;
pub mod path;
pub mod trigger;

use std::sync::OnceLock;

use lambada::{App, EventError, Invocation};

/// The invocation every event is dispatched with.
pub const INVOCATION: Invocation<'static> = Invocation {
    request_id: "8f5e8a36-2c1a-4a7e-9d1b-3c2f4b5a6d7e",
    deadline_ms: 1_700_000_000_000,
    invoked_function_arn: "arn:aws:lambda:us-east-1:123456789012:function:fuzz",
    trace_id: Some("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"),
};

/// One current-thread runtime for the whole run, as under Lambda.
pub fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a tokio runtime")
    })
    .block_on(fut)
}

/// The app serving HTTP events.
pub fn http_app() -> &'static App {
    static APP: OnceLock<App> = OnceLock::new();
    APP.get_or_init(|| App::new(app::routes()))
}

/// The function of one trigger handler of [`app::routes`].
pub fn trigger_app(handler: &str) -> &'static App {
    static APPS: OnceLock<Vec<App>> = OnceLock::new();
    let apps = APPS.get_or_init(|| {
        app::TRIGGERS
            .iter()
            .map(|h| {
                let app = App::for_handler(app::routes(), Some(h)).expect("a trigger handler");
                assert!(app.trigger().is_some(), "{h} is a trigger handler");
                app
            })
            .collect()
    });
    let i = app::TRIGGERS
        .iter()
        .position(|h| *h == handler)
        .expect("a handler of the table");
    &apps[i]
}

/// Dispatches one event as the Lambda loop does.
pub fn dispatch(app: &App, event: &[u8]) -> Result<Vec<u8>, EventError> {
    block_on(app.handle_event(event, &INVOCATION))
}

/// Lets the handlers' intended panics ([`app::INTENDED_PANIC`]) unwind to
/// the runtime, which answers them; any other panic still aborts through
/// libFuzzer's hook, so it is reported as a crash. Call it from the
/// target's `init`.
pub fn allow_intended_panics() {
    let fuzzer_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("");
        if msg.starts_with(app::INTENDED_PANIC) {
            return;
        }
        fuzzer_hook(info);
    }));
}
