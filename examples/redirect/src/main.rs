//! The link service's `bootstrap`: run with `cargo run -p example-redirect`
//! (plain HTTP on port 8080 outside Lambda, DynamoDB wherever
//! `AWS_ENDPOINT_URL` points); see the README.

use redirect::{Links, Settings};

#[lambada::main]
async fn main() -> Result<(), lambada::Error> {
    // `cargo lambada routes` and `deploy` run the binary with
    // `LAMBADA_ROUTES=1` to read its route table: that needs no AWS
    // configuration.
    if std::env::var_os("LAMBADA_ROUTES").is_some() {
        return lambada::run(redirect::routes()).await;
    }
    // Built once per cold start, shared by every invocation.
    let settings = Settings::from_env()?;
    let links = Links::from_env().await;
    lambada::run(redirect::app(links, settings)).await
}
