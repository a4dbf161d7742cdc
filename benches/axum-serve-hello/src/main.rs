//! The HTTP-mode peer of `benches/serve-bench.sh`: helloworld's route
//! (`GET /helloworld/{id}` → `Hello world: {id}`) served by plain
//! `axum::serve` on tokio's multi-thread runtime (`#[tokio::main]`'s
//! default: one worker per core), with no logging.
//!
//! `HOST` and `PORT` (default `127.0.0.1:8082`) set the address.

use axum::{Router, extract::Path, routing::get};

async fn hello(Path(id): Path<u32>) -> String {
    format!("Hello world: {id}")
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port = std::env::var("PORT").unwrap_or_else(|_| "8082".into());
    let listener = tokio::net::TcpListener::bind(format!("{host}:{port}")).await?;
    eprintln!(
        "axum-serve-hello: listening on http://{}",
        listener.local_addr()?
    );
    let app = Router::new().route("/helloworld/{id}", get(hello));
    axum::serve(listener, app).await
}
