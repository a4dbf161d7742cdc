use lambada::prelude::*;

#[get("/users/<id>")]
async fn user(id: u32) -> String {
    id.to_string()
}

#[get("/users/{name}")]
async fn user_by_name(name: String) -> String {
    name
}

fn main() {
    let _ = routes![user, user_by_name];
}
