use lambada::prelude::*;

struct Session;

#[get("/me")]
async fn me(_session: Session, _ctx: Context<'_>) -> &'static str {
    "me"
}

fn main() {}
