//! A chat room on an API Gateway WebSocket API, the shape of AWS's
//! "simple WebSockets chat app": every open connection is an item of a
//! DynamoDB table, and a message is posted to each of them through the
//! API Gateway Management API.
//!
//! | route | what it does |
//! |---|---|
//! | `$connect` (`?name=ada`) | stores the connection and the chosen name; a name that is missing, empty, over 32 characters or not printable refuses the connection (400) |
//! | `sendmessage` `{"action": "sendmessage", "text": "hi"}` | posts `{"from": name, "text": "hi"}` to every connection (the sender's too); a connection that is gone (410) is deleted from the table |
//! | `$default` | tells the sender how to talk: `{"error": …, "usage": …}` |
//! | `$disconnect` | deletes the connection |
//!
//! Connections are kept in DynamoDB, not in memory: Lambda runs as many
//! copies of the function as there are concurrent events, and a copy can
//! be recycled at any time.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use lambada::connections::{ConnectionError, Connections};
use lambada::prelude::*;
use serde::{Deserialize, Serialize};

/// The default table name (`CONNECTIONS_TABLE`).
pub const DEFAULT_TABLE: &str = "chatConnections";

/// The longest name accepted.
pub const MAX_NAME: usize = 32;

/// The connections table: partition key `connectionId` (S), and the
/// member's `name`.
#[derive(Debug, Clone)]
pub struct Room {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

/// A failed table operation.
#[derive(Debug)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DynamoDB: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

impl<E, R> From<aws_sdk_dynamodb::error::SdkError<E, R>> for StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    fn from(e: aws_sdk_dynamodb::error::SdkError<E, R>) -> StoreError {
        // The whole chain: "service error: ResourceNotFoundException: …".
        StoreError(aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string())
    }
}

impl Room {
    /// The table `table` through `client`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Room {
        Room {
            client,
            table: table.into(),
        }
    }

    /// The table named by `CONNECTIONS_TABLE` (default
    /// [`DEFAULT_TABLE`]), with the environment's AWS configuration.
    pub async fn from_env() -> Room {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let table = std::env::var("CONNECTIONS_TABLE")
            .ok()
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| DEFAULT_TABLE.into());
        Room::new(aws_sdk_dynamodb::Client::new(&config), table)
    }

    /// Adds a member.
    pub async fn join(&self, connection_id: &str, name: &str) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("connectionId", AttributeValue::S(connection_id.into()))
            .item("name", AttributeValue::S(name.into()))
            .send()
            .await?;
        Ok(())
    }

    /// Removes a member (nothing when it is not one).
    pub async fn leave(&self, connection_id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("connectionId", AttributeValue::S(connection_id.into()))
            .send()
            .await?;
        Ok(())
    }

    /// Every member: connection id → name (all pages of the scan).
    pub async fn members(&self) -> Result<HashMap<String, String>, StoreError> {
        let mut out = HashMap::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start)
                .send()
                .await?;
            for item in page.items() {
                let s = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
                if let (Some(id), Some(name)) = (s("connectionId"), s("name")) {
                    out.insert(id, name);
                }
            }
            match page.last_evaluated_key {
                Some(k) => start = Some(k),
                None => return Ok(out),
            }
        }
    }
}

/// Checks a member's name: 1 to [`MAX_NAME`] characters, none of them a
/// control character.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("the name is empty: connect with `?name=…`".into());
    }
    if name.chars().count() > MAX_NAME {
        return Err(format!("the name is longer than {MAX_NAME} characters"));
    }
    if name.chars().any(char::is_control) {
        return Err("the name holds control characters".into());
    }
    Ok(())
}

/// `$connect`: joins the room under `?name=`.
#[ws_connect]
pub async fn connect(id: ConnectionId, ctx: WsContext, room: State<Room>) -> StatusCode {
    let name = ctx.query("name").unwrap_or_default().to_owned();
    if let Err(why) = check_name(&name) {
        tracing::info!(connection = %id, why, "connection refused");
        return StatusCode::BAD_REQUEST;
    }
    match room.join(&id, &name).await {
        Ok(()) => StatusCode::OK,
        Err(e) => {
            tracing::error!(error = %e, "join failed");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

/// What a member sends: `{"action": "sendmessage", "text": "hi"}`.
#[derive(Debug, Deserialize)]
pub struct Say {
    /// The message.
    pub text: String,
}

/// What every member receives.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Said {
    /// The sender's name.
    pub from: String,
    /// The message.
    pub text: String,
}

/// `sendmessage`: posts the message to every member, the sender
/// included; members whose connection is gone are removed.
#[ws_message(route = "sendmessage")]
pub async fn send_message(
    id: ConnectionId,
    conns: Connections,
    room: State<Room>,
    Json(say): Json<Say>,
) -> StatusCode {
    let members = match room.members().await {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "listing the members failed");
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
    };
    let Some(from) = members.get(&*id).cloned() else {
        // Not (or no longer) a member: nothing is sent in its name.
        return StatusCode::FORBIDDEN;
    };
    let said = Said {
        from,
        text: say.text,
    };
    let mut failed = false;
    for member in members.keys() {
        match conns.post_json(member, &said).await {
            Ok(()) => {}
            Err(ConnectionError::Gone(_)) => {
                tracing::info!(connection = %member, "gone: removed");
                if let Err(e) = room.leave(member).await {
                    tracing::error!(error = %e, "removing a gone member failed");
                }
            }
            Err(e) => {
                tracing::error!(connection = %member, error = %e, "post failed");
                failed = true;
            }
        }
    }
    if failed {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

/// `$default`: anything that is not a `sendmessage` gets the usage.
#[ws_message(route = "$default")]
pub async fn usage(id: ConnectionId, conns: Connections) -> StatusCode {
    let help = serde_json::json!({
        "error": "unknown action",
        "usage": {"action": "sendmessage", "text": "…"},
    });
    match conns.post_json(&id, &help).await {
        Ok(()) | Err(ConnectionError::Gone(_)) => StatusCode::OK,
        Err(e) => {
            tracing::error!(error = %e, "post failed");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

/// `$disconnect`: leaves the room.
#[ws_disconnect]
pub async fn disconnect(id: ConnectionId, room: State<Room>) -> StatusCode {
    match room.leave(&id).await {
        Ok(()) => StatusCode::OK,
        Err(e) => {
            tracing::error!(error = %e, "leave failed");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

/// The route table, without its state: what `cargo lambada routes` reads.
pub fn routes() -> Routes {
    routes![connect, send_message, usage, disconnect]
}

/// The route table with its state.
pub fn app(room: Room) -> Routes {
    routes().with_state(room)
}
