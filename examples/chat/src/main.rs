//! The chat's `bootstrap`: every WebSocket event of the API.

#[lambada::main]
async fn main() -> Result<(), lambada::Error> {
    // `cargo lambada routes` and `deploy` read the route table with
    // `LAMBADA_ROUTES=1`: no AWS configuration needed.
    if std::env::var_os("LAMBADA_ROUTES").is_some() {
        return lambada::run(chat::routes()).await;
    }
    let room = chat::Room::from_env().await;
    lambada::run(chat::app(room)).await
}
