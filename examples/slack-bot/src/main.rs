//! The Slack bot's `bootstrap`: run with `cargo run -p example-slack-bot`
//! (plain HTTP on port 8080 outside Lambda); see the README.

use slack_bot::events::EventLog;
use slack_bot::verify::Config;

#[lambada::main]
async fn main() -> Result<(), lambada::Error> {
    // `cargo lambada routes` and `deploy` run the binary with
    // `LAMBADA_ROUTES=1` to read its route table: that needs no secret.
    if std::env::var_os("LAMBADA_ROUTES").is_some() {
        return lambada::run(slack_bot::routes()).await;
    }
    // Built once per cold start; a missing secret stops the function before
    // it serves anything.
    let config = Config::from_env()?;
    lambada::run(slack_bot::app(config, EventLog::default())).await
}
