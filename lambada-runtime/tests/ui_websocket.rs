//! Compile-fail tests for the WebSocket attributes (`#[ws_connect]`,
//! `#[ws_disconnect]`, `#[ws_message]`) and the table checks `routes!`
//! makes of them. Checked on the toolchain pinned in `rust-toolchain.toml`.
//! Refresh with `TRYBUILD=overwrite cargo test -p lambada-runtime --test ui_websocket`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/websocket/*.rs");
}
