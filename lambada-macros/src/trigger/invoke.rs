//! `#[invoke]`.

use super::{Kind, Leading, no_check, no_settings};

pub(crate) static KIND: Kind = Kind {
    attr: "invoke",
    variant: "Invoke",
    source_key: None,
    source_default: None,
    keys: &[],
    example: "#[invoke]",
    default_event: "::lambada::__private::serde_json::Value",
    driver: "drive_invoke",
    batch_size: None,
    stream: false,
    leading: Leading::None,
    authorizer: false,
    check: no_check,
    settings: no_settings,
};
