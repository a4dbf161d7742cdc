//! `#[schedule("rate(…)" | "cron(…)", input = {…})]`; the expression is
//! checked by [`super::schedule_expr`].

use super::{Kind, Leading, no_check, no_settings};

pub(crate) static KIND: Kind = Kind {
    attr: "schedule",
    variant: "Schedule",
    source_key: None,
    source_default: None,
    keys: &["input"],
    example: "#[schedule(\"rate(15 minutes)\")]",
    default_event: "::lambada::__private::serde_json::Value",
    driver: "drive_schedule",
    batch_size: None,
    stream: false,
    leading: Leading::Expression,
    authorizer: false,
    check: no_check,
    settings: no_settings,
};
