//! The catalog's `bootstrap`: run with `cargo run -p example-iot-catalog
//! --bin iot-catalog` (plain HTTP on port 8080 outside Lambda, DynamoDB
//! wherever `AWS_ENDPOINT_URL` points); see the README.
//!
//! Deployed, the same binary runs twice: as the API function (`POST
//! /devices/activate`) and as the `register` function the IoT rule invokes
//! (`_HANDLER=register`).

use iot_catalog::Catalog;

#[lambada::main]
async fn main() -> Result<(), lambada::Error> {
    // `cargo lambada routes` and `deploy` run the binary with
    // `LAMBADA_ROUTES=1` to read its route table: that needs no AWS
    // configuration.
    if std::env::var_os("LAMBADA_ROUTES").is_some() {
        return lambada::run(iot_catalog::routes()).await;
    }
    // Built once per cold start, shared by every invocation.
    let catalog = Catalog::from_env().await;
    lambada::run(iot_catalog::app(catalog)).await
}
