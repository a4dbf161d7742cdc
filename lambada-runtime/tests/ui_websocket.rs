//! Compile-fail tests for the WebSocket attributes (`#[ws_connect]`,
//! `#[ws_disconnect]`, `#[ws_message]`) and the table checks `routes!`
//! makes of them. Checked on the toolchain pinned in `rust-toolchain.toml`.
//! Refresh with `TRYBUILD=overwrite cargo test -p lambada-runtime --test ui_websocket --features websocket`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/websocket/*.rs");
    // rustc lists the argument types there are, and `Connections` is one
    // with the `websocket` feature only (on in the workspace's test run,
    // which examples/chat turns on): the snapshot is the feature's.
    if cfg!(feature = "websocket") {
        t.compile_fail("tests/ui/websocket-feature/*.rs");
    }
}
