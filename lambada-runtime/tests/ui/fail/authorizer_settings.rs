use lambada::prelude::*;

#[authorizer(cookie)]
async fn unknown_kind(_: AuthorizerRequest) -> Decision {
    Decision::unauthorized()
}

#[authorizer(request, identity = "cookie.session")]
async fn bad_source(_: AuthorizerRequest) -> Decision {
    Decision::unauthorized()
}

#[authorizer(request, identity = [])]
async fn no_sources(_: AuthorizerRequest) -> Decision {
    Decision::unauthorized()
}

#[authorizer(token, identity = "query.key")]
async fn token_from_query(_: AuthorizerRequest) -> Decision {
    Decision::unauthorized()
}

#[authorizer(token, identity = ["header.a", "header.b"])]
async fn token_two_headers(_: AuthorizerRequest) -> Decision {
    Decision::unauthorized()
}

#[authorizer(ttl = 7200)]
async fn ttl_too_long(_: AuthorizerRequest) -> Decision {
    Decision::unauthorized()
}

#[authorizer(token, cache = 5)]
async fn unknown_setting(_: AuthorizerRequest) -> Decision {
    Decision::unauthorized()
}

fn main() {}
