use lambada::prelude::*;

#[event_pattern(detail_type = ["OrderPlaced"])]
async fn no_source(_e: EventBridgeEvent) {}

#[event_pattern(source = ["shop.orders"], detail_type = [])]
async fn empty_list(_e: EventBridgeEvent) {}

#[event_pattern(source = [""], bus = "arn:aws:events:us-east-1:1:event-bus/x")]
async fn bad_values(_e: EventBridgeEvent) {}

#[event_pattern(source = ["shop.orders", 7])]
async fn not_a_string(_e: EventBridgeEvent) {}

#[event_pattern(source = ["shop.orders"])]
async fn wrong_event(_e: ScheduledEvent) {}

fn main() {}
