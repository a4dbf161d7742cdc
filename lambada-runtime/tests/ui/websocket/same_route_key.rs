use lambada::prelude::*;

#[ws_message(route = "sendmessage")]
async fn send() {}

mod other {
    use lambada::prelude::*;
    #[ws_message(route = "sendmessage")]
    pub async fn send_too(_text: String) {}
}

fn main() {
    let _ = routes![send, other::send_too];
}
