//! The mirror function's `bootstrap`: under Lambda the function whose
//! `Handler` is `sync` runs on its schedule. For a one-off sync from a
//! shell, use the `dns-mirror-sync` binary; see the README.

use dns_mirror::Mirror;

#[lambada::main]
async fn main() -> Result<(), lambada::Error> {
    // `cargo lambada routes` and `deploy` run the binary with
    // `LAMBADA_ROUTES=1` to read its route table: that needs no AWS
    // configuration.
    if std::env::var_os("LAMBADA_ROUTES").is_some() {
        return lambada::run(dns_mirror::routes()).await;
    }
    // Built once per cold start, shared by every invocation.
    let mirror = Mirror::from_env().await;
    lambada::run(dns_mirror::app(mirror)).await
}
