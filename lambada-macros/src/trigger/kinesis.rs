//! `#[kinesis(stream = "…", starting_position = "…", batch_size = …)]`.

use super::{Kind, Leading, no_check, no_settings};

pub(crate) static KIND: Kind = Kind {
    attr: "kinesis",
    variant: "Kinesis",
    source_key: Some("stream"),
    source_default: None,
    keys: &["batch_size", "batch_window", "starting_position"],
    example: "#[kinesis(stream = \"clicks\", starting_position = \"LATEST\")]",
    default_event: "::lambada::trigger::KinesisRecord",
    driver: "drive_kinesis",
    batch_size: Some(100),
    stream: true,
    leading: Leading::None,
    authorizer: false,
    check: no_check,
    settings: no_settings,
};
