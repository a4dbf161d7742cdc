use lambada::prelude::*;

#[sns]
async fn no_topic(_msg: SnsMessage) {}

#[sqs(queue = "orders", batch_sise = 10)]
async fn misspelt(_msg: SqsMessage) {}

#[sqs(queue = "orders.fifo", batch_size = 20, batch_window = 1)]
async fn fifo_batch(_msg: SqsMessage) {}

#[sqs(queue = "orders", batch_size = 100)]
async fn no_window(_msg: SqsMessage) {}

#[kinesis(stream = "clicks", starting_position = "EARLIEST", timeout = 901)]
async fn bad_values(_rec: KinesisRecord) {}

#[invoke(topic = "x")]
async fn invoke_with_topic(_v: serde_json::Value) {}

fn main() {
    let _ = routes![
        no_topic,
        misspelt,
        fifo_batch,
        no_window,
        bad_values,
        invoke_with_topic
    ];
}
