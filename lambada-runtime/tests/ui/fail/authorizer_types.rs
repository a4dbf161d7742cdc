use lambada::prelude::*;

#[authorizer]
async fn wrong_event(_: SnsMessage<String>) -> Decision {
    Decision::unauthorized()
}

#[authorizer(token)]
async fn wrong_return(_: AuthorizerRequest) -> bool {
    true
}

fn main() {}
