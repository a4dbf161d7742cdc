//! A serverless AWS IoT backend: an IoT rule registers devices in a
//! DynamoDB catalog, an API activates them with the code on the box.
//!
//! | handler | what invokes it | answer |
//! |---|---|---|
//! | `#[invoke] register` | the IoT rule `SELECT * FROM 'registration'` (or `aws lambda invoke`, `iot-provision --function`) with a device's JSON | `{"serialNumber", "clientId", "status": "registered" \| "alreadyRegistered", "activated"}`; a function error for a malformed device or one whose serial number and client id are taken with another activation code |
//! | `POST /devices/activate` `{"serialNumber", "clientId", "activationCode", "email"}` | API Gateway | 200 with the article's message; 403 `Activation Code Invalid`; 404 unknown device; 409 activated already; 400 malformed body |
//! | `GET /devices/export.csv` | API Gateway (a streaming route) | the whole catalog as CSV, streamed page by page as DynamoDB returns it: no size limit, first rows at once |
//!
//! Both writes are single conditional DynamoDB requests (see [`catalog`]):
//! a registration sent twice never resets an activated device, and two
//! owners racing with one code get one 200 and one 409.
//!
//! Run locally with `cargo run -p example-iot-catalog`
//! against DynamoDB Local or moto (`AWS_ENDPOINT_URL`); deploy with
//! `cargo lambada deploy --bin iot-catalog`; see the README.

use lambada::prelude::*;
use serde::{Deserialize, Serialize};

pub mod catalog;
pub mod provision;

pub use catalog::{Activation, Catalog, Device, Registered, Registration, StoreError};

/// What a successful activation says: the article's message.
pub const ACTIVATED: &str = "Device now active! Your e-mail is now registered as device owner, thank you for activating your Smart IoT Device!";

/// What a wrong activation code gets: the article's message.
pub const INVALID_CODE: &str = "Activation Code Invalid";

/// The longest serial number, client id or activation code accepted
/// (DynamoDB's own limits on key attributes are 2048 and 1024 bytes).
pub const MAX_ID_LEN: usize = 128;

/// The longest email address accepted (RFC 5321's path limit).
pub const MAX_EMAIL_LEN: usize = 254;

/// Checks a serial number, client id or activation code: 1 to
/// [`MAX_ID_LEN`] printable ASCII characters. (DynamoDB refuses an empty
/// key; anything else it would store.)
pub fn check_id(field: &str, value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err(format!("`{field}` is empty"));
    }
    if value.len() > MAX_ID_LEN {
        return Err(format!("`{field}` is longer than {MAX_ID_LEN} characters"));
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "`{field}` may only hold printable ASCII characters without spaces"
        ));
    }
    Ok(())
}

/// Checks an owner's address: `local@domain`, one `@`, both parts
/// non-empty, a dot-separated domain without empty labels, no spaces or
/// control characters, at most [`MAX_EMAIL_LEN`] bytes. (Whether the
/// address exists is for a confirmation mail to find out.)
pub fn check_email(email: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("`email` {why}"));
    if email.len() > MAX_EMAIL_LEN {
        return bad(&format!("is longer than {MAX_EMAIL_LEN} bytes"));
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("contains spaces or control characters");
    }
    let Some((local, domain)) = email.split_once('@') else {
        return bad("is not an address: no `@`");
    };
    if local.is_empty() || domain.is_empty() || domain.contains('@') {
        return bad("is not an address: `local@domain` with one `@`");
    }
    if domain.split('.').any(str::is_empty) {
        return bad("has an empty part in its domain");
    }
    Ok(())
}

/// What `register` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterReply {
    /// The device's serial number.
    pub serial_number: String,
    /// The device's client id.
    pub client_id: String,
    /// Whether this registration stored the device.
    pub status: RegisterStatus,
    /// Whether the stored device is activated (only ever `true` for a
    /// registration sent again after the activation).
    pub activated: bool,
}

/// Whether a registration stored the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RegisterStatus {
    /// Stored now, inactive.
    Registered,
    /// Stored before with the same activation code (the same message
    /// delivered again): left as it was.
    AlreadyRegistered,
}

/// Why `register` stored nothing: a Lambda function error, so the IoT
/// rule's error action (or the async invocation's on-failure destination)
/// gets the message.
#[derive(Debug)]
pub enum RegisterError {
    /// A key or code that DynamoDB would refuse or that no device has.
    Invalid(String),
    /// Another device holds this serial number and client id: one of the
    /// two was provisioned wrong, and the stored one is kept.
    Conflict {
        /// The serial number.
        serial_number: String,
        /// The client id.
        client_id: String,
    },
    /// DynamoDB failed; Lambda's retries may get through.
    Store(StoreError),
}

impl std::fmt::Display for RegisterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegisterError::Invalid(why) => write!(f, "invalid registration: {why}"),
            RegisterError::Conflict {
                serial_number,
                client_id,
            } => write!(
                f,
                "device {serial_number}/{client_id} is registered already, with another activation code; the stored device is kept"
            ),
            RegisterError::Store(e) => e.fmt(f),
        }
    }
}

impl From<StoreError> for RegisterError {
    fn from(e: StoreError) -> Self {
        RegisterError::Store(e)
    }
}

/// Registers a device: the target of the IoT rule on the topic
/// `registration`. The payload is the article's (its `activated` and
/// `email` are ignored); the device is stored inactive, without owner,
/// by a conditional write that leaves an existing device alone.
#[invoke]
pub async fn register(
    Json(reg): Json<Registration>,
    catalog: State<Catalog>,
) -> Result<Json<RegisterReply>, RegisterError> {
    check_id("serialNumber", &reg.serial_number).map_err(RegisterError::Invalid)?;
    check_id("clientId", &reg.client_id).map_err(RegisterError::Invalid)?;
    check_id("activationCode", &reg.activation_code).map_err(RegisterError::Invalid)?;
    let (status, activated) = match catalog.register(&reg).await? {
        Registered::Created => (RegisterStatus::Registered, false),
        Registered::AlreadyRegistered { activated } => {
            tracing::info!(serial_number = %reg.serial_number, client_id = %reg.client_id, "registered already");
            (RegisterStatus::AlreadyRegistered, activated)
        }
        Registered::Conflict { .. } => {
            return Err(RegisterError::Conflict {
                serial_number: reg.serial_number,
                client_id: reg.client_id,
            });
        }
    };
    Ok(Json(RegisterReply {
        serial_number: reg.serial_number,
        client_id: reg.client_id,
        status,
        activated,
    }))
}

/// What an owner posts to `POST /devices/activate`: the article's fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivationRequest {
    /// The device's client id.
    pub client_id: String,
    /// The device's serial number.
    pub serial_number: String,
    /// The code on the box.
    pub activation_code: String,
    /// The owner's address.
    pub email: String,
}

impl ActivationRequest {
    /// Reads and checks a request body: any shape or field problem is a
    /// 400 (the body is malformed, whichever way).
    pub fn parse(body: serde_json::Value) -> Result<ActivationRequest, ActivateError> {
        let req: ActivationRequest = serde_json::from_value(body)
            .map_err(|e| ActivateError::Malformed(format!("invalid activation request: {e}")))?;
        check_id("serialNumber", &req.serial_number).map_err(ActivateError::Malformed)?;
        check_id("clientId", &req.client_id).map_err(ActivateError::Malformed)?;
        check_id("activationCode", &req.activation_code).map_err(ActivateError::Malformed)?;
        check_email(&req.email).map_err(ActivateError::Malformed)?;
        Ok(req)
    }
}

/// What a successful activation answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivateReply {
    /// The article's message.
    pub message: String,
    /// The device's serial number.
    pub serial_number: String,
    /// The device's client id.
    pub client_id: String,
    /// The thing's name.
    pub device: String,
    /// The owner's address, as stored.
    pub email: String,
}

/// Why `POST /devices/activate` activated nothing. Each variant is a
/// status; the response is a problem document (`application/problem+json`)
/// with the `Display` text as its detail; a 500 is logged with its cause
/// and answered without it.
#[derive(Debug, HttpError)]
pub enum ActivateError {
    /// Not the four fields as non-empty strings, or not an address.
    #[status(BAD_REQUEST)]
    Malformed(String),
    /// The code is not the device's.
    #[status(FORBIDDEN)]
    InvalidCode,
    /// No such device.
    #[status(NOT_FOUND)]
    UnknownDevice {
        /// The serial number asked for.
        serial_number: String,
        /// The client id asked for.
        client_id: String,
    },
    /// The device has an owner already.
    #[status(CONFLICT)]
    AlreadyActivated {
        /// The serial number.
        serial_number: String,
        /// The client id.
        client_id: String,
    },
    /// DynamoDB failed.
    #[status(INTERNAL_SERVER_ERROR)]
    Store(StoreError),
}

impl std::fmt::Display for ActivateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ActivateError::Malformed(why) => f.write_str(why),
            ActivateError::InvalidCode => f.write_str(INVALID_CODE),
            ActivateError::UnknownDevice {
                serial_number,
                client_id,
            } => write!(
                f,
                "there is no device {serial_number} with client id {client_id}"
            ),
            ActivateError::AlreadyActivated {
                serial_number,
                client_id,
            } => write!(f, "device {serial_number}/{client_id} is activated already"),
            ActivateError::Store(e) => e.fmt(f),
        }
    }
}

impl From<StoreError> for ActivateError {
    fn from(e: StoreError) -> Self {
        ActivateError::Store(e)
    }
}

/// `POST /devices/activate`: sets the owner's email and `activated = true`
/// with one conditional `UpdateItem` (the device exists, the code is its
/// code, it is not activated). The article read the item, compared the
/// code in the function and then wrote: two owners with the same code
/// could both be told "Device now active!", the later email silently
/// replacing the first. Here DynamoDB decides, so one wins and the other
/// gets a 409.
///
/// The body is taken as JSON and then checked, so that a missing field or
/// a wrong type is a 400 like broken JSON (the framework's `Json<T>` would
/// answer 422 for those).
#[post("/devices/activate")]
pub async fn activate(
    catalog: State<Catalog>,
    Json(body): Json<serde_json::Value>,
) -> Result<Json<ActivateReply>, ActivateError> {
    let req = ActivationRequest::parse(body)?;
    let outcome = catalog
        .activate(
            &req.serial_number,
            &req.client_id,
            &req.activation_code,
            &req.email,
        )
        .await?;
    match outcome {
        Activation::Activated(device) => Ok(Json(ActivateReply {
            message: ACTIVATED.into(),
            serial_number: device.serial_number,
            client_id: device.client_id,
            device: device.device,
            email: device.email.unwrap_or(req.email),
        })),
        Activation::InvalidCode => Err(ActivateError::InvalidCode),
        Activation::UnknownDevice => Err(ActivateError::UnknownDevice {
            serial_number: req.serial_number,
            client_id: req.client_id,
        }),
        Activation::AlreadyActivated => Err(ActivateError::AlreadyActivated {
            serial_number: req.serial_number,
            client_id: req.client_id,
        }),
    }
}

/// Devices per DynamoDB page of the export.
pub const EXPORT_PAGE: i32 = 100;

/// The export's header line.
pub const EXPORT_HEADER: &str = "serialNumber,clientId,device,type,activated\n";

/// `GET /devices/export.csv`: the catalog as CSV, streamed. Each page of
/// the scan goes out as soon as DynamoDB returns it, so a catalog of any
/// size is exported in one request, past API Gateway's 10 MB and Lambda's
/// 6 MB response limits, and the first rows arrive at once. Owners' email
/// addresses and activation codes are not exported. A failed scan after
/// the first rows ends the body early (the status is sent already), and
/// Lambda records the error.
#[get("/devices/export.csv")]
pub async fn export(catalog: State<Catalog>) -> lambada::stream::Streaming {
    let (tx, body) = lambada::stream::Streaming::channel(4);
    tokio::spawn(async move {
        if tx.send(EXPORT_HEADER).await.is_err() {
            return;
        }
        let mut start = None;
        loop {
            let (devices, next) = match catalog.page(start, EXPORT_PAGE).await {
                Ok(page) => page,
                Err(e) => {
                    let _ = tx.fail(e).await;
                    return;
                }
            };
            let mut rows = String::new();
            for d in &devices {
                rows.push_str(&csv_row(&[
                    &d.serial_number,
                    &d.client_id,
                    &d.device,
                    &d.device_type,
                    if d.activated { "true" } else { "false" },
                ]));
            }
            if !rows.is_empty() && tx.send(rows).await.is_err() {
                return; // the client is gone
            }
            match next {
                Some(key) => start = Some(key),
                None => return,
            }
        }
    });
    body.content_type("text/csv; charset=utf-8")
}

/// One CSV line (RFC 4180): a field with a comma, quote or line break is
/// quoted, its quotes doubled.
pub fn csv_row(fields: &[&str]) -> String {
    let mut line = String::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        if f.contains([',', '"', '\n', '\r']) {
            line.push('"');
            line.push_str(&f.replace('"', "\"\""));
            line.push('"');
        } else {
            line.push_str(f);
        }
    }
    line.push('\n');
    line
}

/// The route table, without its state: what `cargo lambada routes` reads.
/// `register` runs in a function of its own once deployed
/// (`lambada-iot-catalog-register`).
pub fn routes() -> Routes {
    routes![register, activate, export]
}

/// The route table with its state: the catalog.
pub fn app(catalog: Catalog) -> Routes {
    routes().with_state(catalog)
}

#[cfg(test)]
mod tests;
