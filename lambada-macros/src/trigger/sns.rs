//! `#[sns(topic = "…")]`.

use super::{Kind, Leading, no_check, no_settings};

pub(crate) static KIND: Kind = Kind {
    attr: "sns",
    variant: "Sns",
    source_key: Some("topic"),
    source_default: None,
    keys: &[],
    example: "#[sns(topic = \"notifications\")]",
    default_event: "::lambada::trigger::SnsMessage",
    driver: "drive_sns",
    batch_size: None,
    stream: false,
    leading: Leading::None,
    authorizer: false,
    check: no_check,
    settings: no_settings,
};
