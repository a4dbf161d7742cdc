use lambada::prelude::*;

#[authorizer(token)]
async fn bearer(_: AuthorizerRequest) -> Decision {
    Decision::unauthorized()
}

#[get("/plain")]
async fn plain() {}

#[get("/b", auth = plain)]
async fn not_an_authorizer() {}

#[get("/c", auth = bearer, scopes = ["orders/read"])]
async fn lambda_with_scopes() {}

fn main() {}
