//! Compile-fail tests for every macro error: each `.stderr` snapshot shows
//! where the error points. Checked on the toolchain pinned in
//! `rust-toolchain.toml` (compiler messages change between releases).
//! Refresh with `TRYBUILD=overwrite cargo test -p lambada-runtime --test ui`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
}
