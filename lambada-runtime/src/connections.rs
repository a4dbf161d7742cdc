//! Posting to WebSocket connections through the API Gateway Management API
//! (the `websocket` feature).
//!
//! A WebSocket handler takes [`Connections`] as an argument: a client for
//! the Management API of the API the event came from
//! (`https://{domainName}/{stage}`, or `LAMBADA_WS_ENDPOINT` when set: what
//! `cargo lambada serve` points it at). Credentials and region come from
//! the function's environment, loaded once, on the first call.
//!
//! ```no_run
//! use lambada::connections::{ConnectionError, Connections};
//! use lambada::prelude::*;
//! use lambada::websocket::ConnectionId;
//!
//! #[ws_message(route = "echo")]
//! async fn echo(id: ConnectionId, conns: Connections, text: String) -> StatusCode {
//!     match conns.post(&id, text).await {
//!         Ok(()) => StatusCode::OK,
//!         // The client went away between its message and our answer.
//!         Err(ConnectionError::Gone(_)) => StatusCode::GONE,
//!         Err(e) => {
//!             tracing::error!(error = %e, "post failed");
//!             StatusCode::INTERNAL_SERVER_ERROR
//!         }
//!     }
//! }
//! ```
//!
//! The function's role needs `execute-api:ManageConnections` on the API:
//! `cargo lambada deploy` adds it when the app has WebSocket handlers.

use std::fmt;
use std::sync::Arc;

use aws_sdk_apigatewaymanagement as mgmt;
use bytes::Bytes;
use tokio::sync::OnceCell;

use crate::response::Problem;
use crate::websocket::{FromWsRequest, WsRequest};

/// The SDK configuration (credentials, region), loaded on first use.
static SHARED: OnceCell<aws_config::SdkConfig> = OnceCell::const_new();

/// Why a call to the Management API failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The connection is closed (410 Gone): forget its id.
    Gone(String),
    /// Any other failure (credentials, throttling, a message over 128 KB…).
    Api {
        /// The operation (`PostToConnection`, …).
        operation: &'static str,
        /// The HTTP status, when the API answered.
        status: Option<u16>,
        /// What went wrong.
        message: String,
    },
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectionError::Gone(id) => write!(f, "the WebSocket connection {id} is gone"),
            ConnectionError::Api {
                operation,
                status: Some(s),
                message,
            } => write!(f, "{operation} failed ({s}): {message}"),
            ConnectionError::Api {
                operation, message, ..
            } => write!(f, "{operation} failed: {message}"),
        }
    }
}

impl std::error::Error for ConnectionError {}

impl ConnectionError {
    /// Whether the connection is gone (410).
    pub fn is_gone(&self) -> bool {
        matches!(self, ConnectionError::Gone(_))
    }
}

fn error<E, R>(operation: &'static str, id: &str, e: mgmt::error::SdkError<E, R>) -> ConnectionError
where
    E: mgmt::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug + HttpStatus,
{
    let status = e.raw_response().map(HttpStatus::status);
    let gone = status == Some(410)
        || e.as_service_error()
            .and_then(|s| s.code())
            .is_some_and(|c| c == "GoneException");
    if gone {
        return ConnectionError::Gone(id.to_owned());
    }
    let message = match e.as_service_error() {
        Some(s) => s
            .message()
            .map(str::to_owned)
            .unwrap_or_else(|| s.to_string()),
        None => mgmt::error::DisplayErrorContext(&e).to_string(),
    };
    ConnectionError::Api {
        operation,
        status,
        message,
    }
}

/// The status of a raw response (a trait so [`error`] stays generic).
trait HttpStatus {
    fn status(&self) -> u16;
}

impl HttpStatus for mgmt::config::http::HttpResponse {
    fn status(&self) -> u16 {
        self.status().as_u16()
    }
}

/// What the Management API knows about a connection.
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    /// When it was opened.
    pub connected_at: Option<std::time::SystemTime>,
    /// When it last sent or received a message.
    pub last_active_at: Option<std::time::SystemTime>,
    /// The client's IP address.
    pub source_ip: Option<String>,
    /// The client's `User-Agent`.
    pub user_agent: Option<String>,
}

/// A client for the Management API of one WebSocket API stage.
#[derive(Clone)]
pub struct Connections {
    endpoint: Arc<str>,
    client: Arc<OnceCell<mgmt::Client>>,
}

impl fmt::Debug for Connections {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connections")
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

impl Connections {
    /// A client for the stage whose Management API is at `endpoint`
    /// (`https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`), for
    /// code that is not a WebSocket handler (an HTTP route or a trigger
    /// that pushes to clients).
    pub fn new(endpoint: impl Into<String>) -> Connections {
        Connections {
            endpoint: endpoint.into().trim_end_matches('/').into(),
            client: Arc::new(OnceCell::new()),
        }
    }

    /// The Management API endpoint.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    async fn client(&self) -> &mgmt::Client {
        self.client
            .get_or_init(|| async {
                let shared = SHARED
                    .get_or_init(
                        || aws_config::load_defaults(aws_config::BehaviorVersion::latest()),
                    )
                    .await;
                let mut conf =
                    mgmt::config::Builder::from(shared).endpoint_url(self.endpoint.to_string());
                // `cargo lambada serve`'s endpoint on loopback checks no
                // signature: a machine without AWS credentials can post.
                if is_loopback(&self.endpoint) {
                    conf = conf.credentials_provider(mgmt::config::Credentials::new(
                        "lambada-local",
                        "lambada-local",
                        None,
                        None,
                        "lambada-serve",
                    ));
                    if shared.region().is_none() {
                        conf = conf.region(mgmt::config::Region::new("us-east-1"));
                    }
                }
                let conf = conf.build();
                mgmt::Client::from_conf(conf)
            })
            .await
    }

    /// Sends `data` to the client of connection `id` (a text frame when it
    /// is UTF-8). [`ConnectionError::Gone`] when that client has gone.
    pub async fn post(&self, id: &str, data: impl Into<Bytes>) -> Result<(), ConnectionError> {
        let data: Bytes = data.into();
        self.client()
            .await
            .post_to_connection()
            .connection_id(id)
            .data(mgmt::primitives::Blob::new(data.to_vec()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| error("PostToConnection", id, e))
    }

    /// Sends `value` as JSON text.
    pub async fn post_json<T: serde::Serialize>(
        &self,
        id: &str,
        value: &T,
    ) -> Result<(), ConnectionError> {
        let text = serde_json::to_vec(value).map_err(|e| ConnectionError::Api {
            operation: "PostToConnection",
            status: None,
            message: format!("cannot serialize the message: {e}"),
        })?;
        self.post(id, text).await
    }

    /// Closes connection `id`.
    pub async fn delete(&self, id: &str) -> Result<(), ConnectionError> {
        self.client()
            .await
            .delete_connection()
            .connection_id(id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| error("DeleteConnection", id, e))
    }

    /// What the API knows about connection `id`.
    pub async fn get(&self, id: &str) -> Result<ConnectionInfo, ConnectionError> {
        let out = self
            .client()
            .await
            .get_connection()
            .connection_id(id)
            .send()
            .await
            .map_err(|e| error("GetConnection", id, e))?;
        let time = |t: Option<&mgmt::primitives::DateTime>| {
            t.and_then(|t| std::time::SystemTime::try_from(*t).ok())
        };
        Ok(ConnectionInfo {
            connected_at: time(out.connected_at()),
            last_active_at: time(out.last_active_at()),
            source_ip: out
                .identity()
                .and_then(|i| i.source_ip())
                .map(str::to_owned),
            user_agent: out
                .identity()
                .and_then(|i| i.user_agent())
                .map(str::to_owned),
        })
    }
}

/// Whether `endpoint` is a plain-HTTP address on this machine.
fn is_loopback(endpoint: &str) -> bool {
    let Some(rest) = endpoint.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split('/').next().unwrap_or_default();
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

impl FromWsRequest for Connections {
    fn from_ws_request(req: &WsRequest<'_>) -> Result<Self, Problem> {
        Ok(Connections::new(req.management_endpoint()))
    }
}
