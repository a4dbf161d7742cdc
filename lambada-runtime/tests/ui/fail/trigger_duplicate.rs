use lambada::prelude::*;

mod a {
    use lambada::prelude::*;
    #[invoke]
    pub async fn register(_v: serde_json::Value) {}
}

mod b {
    use lambada::prelude::*;
    #[sns(topic = "registrations")]
    pub async fn register(_m: SnsMessage) {}
}

fn main() {
    let _ = routes![a::register, b::register];
}
