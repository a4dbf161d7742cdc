//! The fan-out function's `bootstrap`. Under Lambda, the function whose
//! `Handler` is `fanout_kinesis` takes Kinesis batches, the one whose
//! `Handler` is `fanout_dynamodb` DynamoDB Streams batches.

#[lambada::main]
async fn main() -> Result<(), lambada::Error> {
    // `cargo lambada routes` and `deploy` read the route table with
    // `LAMBADA_ROUTES=1`: that needs no AWS configuration.
    if std::env::var_os("LAMBADA_ROUTES").is_some() {
        return lambada::run(fanout::routes()).await;
    }
    let state = fanout::Fanout::from_env().await;
    lambada::run(fanout::app(state)).await
}
