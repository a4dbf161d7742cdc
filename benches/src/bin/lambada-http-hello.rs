//! helloworld's route (`GET /helloworld/<id>` → `Hello world: {id}`) under
//! `#[lambada::main(flavor = "current_thread")]`, for `benches/serve-bench.sh`:
//! the HTTP server mode on tokio's current-thread scheduler, next to the
//! helloworld example itself (multi-thread: the `#[lambada::main]` default
//! in HTTP mode) and `axum::serve`. `lambada::run` picks the mode from the
//! environment as usual (`LAMBADA_MODE=http HOST=… PORT=…`).

use lambada::prelude::*;

/// `GET /helloworld/5` → `Hello world: 5`, as in `examples/helloworld`.
#[get("/helloworld/<id>")]
async fn index(id: u32) -> String {
    format!("Hello world: {id}")
}

#[lambada::main(flavor = "current_thread")]
async fn main() -> Result<(), lambada::Error> {
    lambada::run(routes![index]).await
}
