use lambada::prelude::*;

#[ws_message(route = "$connect")]
async fn connect_by_hand() {}

#[ws_message(route = "$join")]
async fn reserved() {}

#[ws_message(route = "send message")]
async fn spaced() {}

#[ws_message(route = "")]
async fn empty() {}

#[ws_message]
async fn no_route() {}

#[ws_message(route = "a", rout = "b")]
async fn unknown_setting() {}

#[ws_message(route = 5)]
async fn not_a_string() {}

fn main() {
    let _ = routes![connect_by_hand, reserved, spaced, empty, no_route, unknown_setting, not_a_string];
}
