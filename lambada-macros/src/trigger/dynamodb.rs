//! `#[dynamodb_stream(table = "…")]`.

use super::{Kind, Leading, no_check, no_settings};

pub(crate) static KIND: Kind = Kind {
    attr: "dynamodb_stream",
    variant: "DynamoDbStream",
    source_key: Some("table"),
    source_default: None,
    keys: &["batch_size", "batch_window", "starting_position"],
    example: "#[dynamodb_stream(table = \"devices\")]",
    default_event: "::lambada::trigger::StreamRecord",
    driver: "drive_dynamodb_stream",
    batch_size: Some(100),
    stream: true,
    leading: Leading::None,
    authorizer: false,
    check: no_check,
    settings: no_settings,
};
