use lambada::prelude::*;

#[authorizer(token)]
async fn bearer(_: AuthorizerRequest) -> Decision {
    Decision::unauthorized()
}

// A misspelt authorizer function is an unresolved name, under the name.
#[get("/a", auth = beare)]
async fn misspelt() {}

fn main() {}
