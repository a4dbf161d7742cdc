use lambada::prelude::*;

#[get("/users/<id>")]
async fn user(id: u32) -> String {
    id.to_string()
}

#[post("/users/<user_id>/posts")]
async fn create_post(user_id: u32) -> String {
    user_id.to_string()
}

fn main() {
    let _ = routes![user, create_post];
}
