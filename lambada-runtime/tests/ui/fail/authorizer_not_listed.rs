use lambada::prelude::*;

#[authorizer(token)]
async fn bearer(_: AuthorizerRequest) -> Decision {
    Decision::unauthorized()
}

#[get("/reports", auth = bearer)]
async fn reports() {}

fn main() {
    let _ = routes![reports];
}
