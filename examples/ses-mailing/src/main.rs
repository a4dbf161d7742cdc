//! The mailing function's `bootstrap`: run with `cargo run -p
//! example-ses-mailing` (plain HTTP on port 8080 outside Lambda, DynamoDB
//! wherever `AWS_ENDPOINT_URL` points); see the README. Under Lambda, the
//! function whose `Handler` is `on_ses_notification` handles the SNS
//! events and the other one the API.

use ses_mailing::Mailing;

#[lambada::main]
async fn main() -> Result<(), lambada::Error> {
    // `cargo lambada routes` and `deploy` run the binary with
    // `LAMBADA_ROUTES=1` to read its route table: that needs no AWS
    // configuration.
    if std::env::var_os("LAMBADA_ROUTES").is_some() {
        return lambada::run(ses_mailing::routes()).await;
    }
    // Built once per cold start, shared by every invocation.
    let mailing = Mailing::from_env().await;
    lambada::run(ses_mailing::app(mailing)).await
}
