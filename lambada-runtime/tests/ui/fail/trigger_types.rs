use lambada::prelude::*;

#[sns(topic = "t")]
async fn wrong_event(_msg: SqsMessage) {}

#[invoke]
async fn bad_return(_v: serde_json::Value) -> u32 {
    1
}

#[invoke]
async fn bad_extra(_v: serde_json::Value, _q: Query<u32>) {}

#[schedule("rate(1 day)")]
async fn record_for_schedule(_r: KinesisRecord) {}

fn main() {
    let _ = routes![wrong_event, bad_return, bad_extra, record_for_schedule];
}
