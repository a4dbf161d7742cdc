//! A Slack bot on API Gateway + Lambda: slash commands at
//! `POST /slack/commands` and the Events API at `POST /slack/events`, every
//! request verified against the app's signing secret.
//!
//! Run locally with `SLACK_SIGNING_SECRET=... PORT=8080 cargo run -p
//! example-slack-bot`; deploy with `cargo lambada deploy`; see the README.

use lambada::prelude::*;

pub mod commands;
pub mod events;
pub mod verify;

use commands::SlashCommand;
use events::{Envelope, EventLog};
use verify::{Config, Verified};

/// `POST /slack/commands`: a slash command, as the form Slack posts.
///
/// The signature is checked over the raw body before the form is parsed
/// from those same bytes; an unsigned, tampered or stale request is a bare
/// 401.
#[post("/slack/commands")]
pub async fn command(
    config: State<Config>,
    Verified(Form(cmd)): Verified<Form<SlashCommand>>,
) -> Response {
    if cmd.ssl_check.as_deref() == Some("1") {
        return StatusCode::OK.into_response();
    }
    tracing::info!(
        command = %cmd.command,
        team = %cmd.team_id,
        channel = %cmd.channel_id,
        user = %cmd.user_id,
        "slash command"
    );
    Json(commands::reply(&cmd, config.now())).into_response()
}

/// `POST /slack/events`: answers the `url_verification` challenge and
/// acknowledges event callbacks at once (see [`events`]).
#[post("/slack/events")]
pub async fn event(
    log: State<EventLog>,
    #[header("x-slack-retry-num")] retry: Option<u32>,
    Verified(Json(envelope)): Verified<Json<Envelope>>,
) -> Response {
    match envelope {
        Envelope::UrlVerification { challenge } => {
            Json(serde_json::json!({ "challenge": challenge })).into_response()
        }
        Envelope::EventCallback {
            event_id,
            team_id,
            event,
        } => {
            if log.first_delivery(&event_id) {
                tracing::info!(
                    %event_id,
                    team = %team_id,
                    kind = %event.kind,
                    user = event.user.as_deref().unwrap_or(""),
                    channel = event.channel.as_deref().unwrap_or(""),
                    retry = retry.unwrap_or(0),
                    "event"
                );
            } else {
                tracing::info!(%event_id, retry = retry.unwrap_or(0), "duplicate delivery, acknowledged again");
            }
            StatusCode::OK.into_response()
        }
        Envelope::AppRateLimited {
            minute_rate_limited,
        } => {
            tracing::warn!(
                minute_rate_limited,
                "Slack is rate-limiting this app's events"
            );
            StatusCode::OK.into_response()
        }
        Envelope::Unknown => StatusCode::OK.into_response(),
    }
}

/// The route table, without its state: what `cargo lambada routes` reads.
pub fn routes() -> Routes {
    routes![command, event]
}

/// The route table with its state: the configuration (signing secret and
/// clock) and the event log.
pub fn app(config: Config, log: EventLog) -> Routes {
    routes().with_state(config).with_state(log)
}

#[cfg(test)]
mod tests;
