//! The ECS task metadata endpoint (version 4): the task id and container
//! name that go into the stream name `<prefix>/<container-name>/<task-id>`.
//!
//! ECS sets `ECS_CONTAINER_METADATA_URI_V4` in every container; `GET
//! ${uri}/task` answers the task's JSON (`TaskARN`, whose last segment is
//! the task id) and `GET ${uri}` the container's (`Name`). It is plain HTTP
//! on a link-local address, so a blocking HTTP/1.0 GET on a `TcpStream` is
//! all the client needed.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use serde::Deserialize;

use crate::BoxError;

/// The environment variable ECS sets to the metadata endpoint.
pub const ENV: &str = "ECS_CONTAINER_METADATA_URI_V4";

const TIMEOUT: Duration = Duration::from_secs(5);

/// What the endpoint tells about this container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub task_id: String,
    pub container_name: Option<String>,
}

#[derive(Deserialize)]
struct Task {
    #[serde(rename = "TaskARN")]
    task_arn: String,
}

#[derive(Deserialize)]
struct Container {
    #[serde(rename = "Name")]
    name: String,
}

/// The task id in a task ARN: its last `/` segment
/// (`arn:aws:ecs:us-west-2:111122223333:task/default/600e016a…` → `600e016a…`).
pub fn task_id_from_arn(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// Reads the task id (required) and the container name (when the endpoint
/// has it) from the endpoint at `base`.
pub async fn fetch(base: &str) -> Result<Metadata, BoxError> {
    let base = base.trim_end_matches('/').to_owned();
    tokio::task::spawn_blocking(move || {
        let task: Task = serde_json::from_str(&get(&format!("{base}/task"))?)?;
        let container_name = get(&base)
            .ok()
            .and_then(|body| serde_json::from_str::<Container>(&body).ok())
            .map(|c| c.name);
        Ok(Metadata {
            task_id: task_id_from_arn(&task.task_arn).to_owned(),
            container_name,
        })
    })
    .await?
}

/// `GET url` over HTTP/1.0; the body of a 200 answer.
fn get(url: &str) -> Result<String, BoxError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{ENV}: only http:// URLs are supported, got {url}"))?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let address = if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let socket = address
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| format!("{url}: no address"))?;
    let mut stream = TcpStream::connect_timeout(&socket, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {authority}\r\nAccept: application/json\r\n\r\n"
    )?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("GET {url}: malformed answer"))?;
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if status != "200" {
        return Err(format!("GET {url}: status {status}").into());
    }
    Ok(body.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_ids_from_both_arn_formats() {
        assert_eq!(
            task_id_from_arn("arn:aws:ecs:us-west-2:111122223333:task/default/600e016a93014f81"),
            "600e016a93014f81"
        );
        assert_eq!(
            task_id_from_arn("arn:aws:ecs:us-west-2:111122223333:task/600e016a-9301-4f81"),
            "600e016a-9301-4f81"
        );
    }

    #[test]
    fn only_plain_http() {
        assert!(get("https://169.254.170.2/v4/x").is_err());
    }
}
