//! The device catalog, in a DynamoDB table (`iotCatalog` by default).
//!
//! | attribute | type | what |
//! |---|---|---|
//! | `serialNumber` | S, partition key | `SN-D7F3C8947867` |
//! | `clientId` | S, sort key | `ID-91B2F06B3F05` (a hub's client devices share its serial number) |
//! | `device` | S | the thing's name, `myThing1` |
//! | `endpoint` | S | the AWS IoT data endpoint the device talks to |
//! | `type` | S | `MySmartIoTDevice` |
//! | `certificateId` | S, optional | the device certificate, when registered with one |
//! | `activationCode` | S | `AC-9BE75CD0F1543D44C9AB`, printed on the box |
//! | `activated` | BOOL | `false` until activated |
//! | `email` | S, absent until activated | the owner's address |
//!
//! Both writes are conditional, so neither reads first:
//!
//! - registration: `PutItem` if `attribute_not_exists(serialNumber)`;
//! - activation: `UpdateItem` `SET email, activated = true` if the item
//!   exists, its `activationCode` is the one given and `activated = false`.
//!
//! When a condition fails, DynamoDB returns the item as it was
//! (`ReturnValuesOnConditionCheckFailure = ALL_OLD`): that says why,
//! without another read.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use serde::{Deserialize, Serialize};

/// The table's name when `CATALOG_TABLE` is not set: the article's.
pub const DEFAULT_TABLE: &str = "iotCatalog";

/// What the registration rule sends for one device: the article's payload.
///
/// The article's payload also carries `"activated": "false"` and
/// `"email": "not@registered.yet"`; they are accepted and ignored, since a
/// registration always stores an inactive device without an owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Registration {
    /// The partition key.
    pub serial_number: String,
    /// The sort key.
    pub client_id: String,
    /// The thing's name.
    pub device: String,
    /// The AWS IoT data endpoint.
    pub endpoint: String,
    /// The device type.
    #[serde(rename = "type")]
    pub device_type: String,
    /// The device certificate's id, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_id: Option<String>,
    /// The code the owner types in to activate the device.
    pub activation_code: String,
}

impl Registration {
    fn to_item(&self) -> HashMap<String, AttributeValue> {
        let s = |v: &str| AttributeValue::S(v.to_owned());
        let mut item = HashMap::from([
            ("serialNumber".to_owned(), s(&self.serial_number)),
            ("clientId".to_owned(), s(&self.client_id)),
            ("device".to_owned(), s(&self.device)),
            ("endpoint".to_owned(), s(&self.endpoint)),
            ("type".to_owned(), s(&self.device_type)),
            ("activationCode".to_owned(), s(&self.activation_code)),
            ("activated".to_owned(), AttributeValue::Bool(false)),
        ]);
        if let Some(id) = &self.certificate_id {
            item.insert("certificateId".to_owned(), s(id));
        }
        item
    }
}

/// A device as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    /// The partition key.
    pub serial_number: String,
    /// The sort key.
    pub client_id: String,
    /// The thing's name.
    pub device: String,
    /// The AWS IoT data endpoint.
    pub endpoint: String,
    /// The device type.
    #[serde(rename = "type")]
    pub device_type: String,
    /// The device certificate's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_id: Option<String>,
    /// The activation code.
    pub activation_code: String,
    /// Whether the device was activated.
    pub activated: bool,
    /// The owner's address, once activated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl Device {
    fn from_item(item: &HashMap<String, AttributeValue>) -> Result<Device, StoreError> {
        let opt = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        let s = |name: &str| {
            opt(name).ok_or_else(|| StoreError(format!("an item without a string `{name}`")))
        };
        Ok(Device {
            serial_number: s("serialNumber")?,
            client_id: s("clientId")?,
            device: opt("device").unwrap_or_default(),
            endpoint: opt("endpoint").unwrap_or_default(),
            device_type: opt("type").unwrap_or_default(),
            certificate_id: opt("certificateId"),
            activation_code: s("activationCode")?,
            activated: is_activated(item),
            email: opt("email"),
        })
    }
}

/// Whether an item says its device is activated (`activated` is `true`).
fn is_activated(item: &HashMap<String, AttributeValue>) -> bool {
    matches!(item.get("activated"), Some(AttributeValue::Bool(true)))
}

/// What a registration did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registered {
    /// The device was stored, inactive.
    Created,
    /// The device was there already with the same activation code (the
    /// same registration sent again): nothing was written.
    AlreadyRegistered {
        /// Whether it has been activated meanwhile.
        activated: bool,
    },
    /// Another device has this serial number and client id (a different
    /// activation code): nothing was written.
    Conflict {
        /// Whether that device is activated.
        activated: bool,
    },
}

/// What an activation did. Only [`Activation::Activated`] wrote anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Activation {
    /// The device is active now, owned by the address given.
    Activated(Device),
    /// No device has this serial number and client id.
    UnknownDevice,
    /// The activation code is not the device's.
    InvalidCode,
    /// The code is right but the device was activated already.
    AlreadyActivated,
}

/// DynamoDB failed (throttled, unreachable, no such table, a malformed
/// item). Logged in full; the client gets a bare 500.
#[derive(Debug, lambada::HttpError)]
#[status(INTERNAL_SERVER_ERROR)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DynamoDB: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

impl<E, R> From<SdkError<E, R>> for StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    fn from(e: SdkError<E, R>) -> Self {
        // The whole chain: "service error: ResourceNotFoundException: ...".
        StoreError(DisplayErrorContext(&e).to_string())
    }
}

/// The catalog table: a DynamoDB client, built once per cold start and
/// shared by every invocation as `State<Catalog>`.
#[derive(Debug, Clone)]
pub struct Catalog {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl Catalog {
    /// The table `table` through `client`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Catalog {
        Catalog {
            client,
            table: table.into(),
        }
    }

    /// The table named by `CATALOG_TABLE` (default `iotCatalog`), with the
    /// AWS configuration of the environment: the credential chain (the
    /// function's role under Lambda), `AWS_REGION`, and `AWS_ENDPOINT_URL`
    /// for DynamoDB Local or moto.
    pub async fn from_env() -> Catalog {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let table = std::env::var("CATALOG_TABLE")
            .ok()
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| DEFAULT_TABLE.into());
        Catalog::new(aws_sdk_dynamodb::Client::new(&config), table)
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Stores a new device, inactive and without an owner, unless a device
    /// with its serial number and client id exists: one conditional
    /// `PutItem`, so a registration sent twice (an IoT rule may deliver a
    /// message again) never resets an activated device.
    pub async fn register(&self, reg: &Registration) -> Result<Registered, StoreError> {
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(reg.to_item()))
            .condition_expression("attribute_not_exists(#sn)")
            .expression_attribute_names("#sn", "serialNumber")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let err = match res {
            Ok(_) => return Ok(Registered::Created),
            Err(e) => e,
        };
        let Some(failed) = err
            .as_service_error()
            .filter(|e| e.is_conditional_check_failed_exception())
        else {
            return Err(err.into());
        };
        let old = match failed {
            aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(
                e,
            ) => e.item(),
            _ => None,
        };
        let Some(old) = old else {
            return Err(StoreError(
                "the registration's condition failed, but DynamoDB did not return the item".into(),
            ));
        };
        let activated = is_activated(old);
        let same_code =
            old.get("activationCode").and_then(|v| v.as_s().ok()) == Some(&reg.activation_code);
        Ok(if same_code {
            Registered::AlreadyRegistered { activated }
        } else {
            Registered::Conflict { activated }
        })
    }

    /// Activates a device for `email`: one `UpdateItem` that sets the
    /// owner and `activated = true` only if the device exists, `code` is
    /// its activation code and it is not activated yet. Two owners racing
    /// with the same code cannot both win: DynamoDB evaluates the condition
    /// and applies the update as one step per item.
    ///
    /// When the condition fails, the item as it was (or its absence) says
    /// why: unknown device, wrong code (checked before the activation
    /// state, so only someone with the code learns that the device is
    /// taken), or activated already.
    pub async fn activate(
        &self,
        serial_number: &str,
        client_id: &str,
        code: &str,
        email: &str,
    ) -> Result<Activation, StoreError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("serialNumber", AttributeValue::S(serial_number.to_owned()))
            .key("clientId", AttributeValue::S(client_id.to_owned()))
            .update_expression("SET #email = :email, #activated = :true")
            .condition_expression("attribute_exists(#sn) AND #code = :code AND #activated = :false")
            .expression_attribute_names("#sn", "serialNumber")
            .expression_attribute_names("#code", "activationCode")
            .expression_attribute_names("#activated", "activated")
            .expression_attribute_names("#email", "email")
            .expression_attribute_values(":email", AttributeValue::S(email.to_owned()))
            .expression_attribute_values(":code", AttributeValue::S(code.to_owned()))
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let err = match res {
            Ok(out) => {
                let item = out.attributes.unwrap_or_default();
                return Device::from_item(&item).map(Activation::Activated);
            }
            Err(e) => e,
        };
        let old = match err.as_service_error() {
            Some(
                aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(
                    e,
                ),
            ) => e.item(),
            _ => return Err(err.into()),
        };
        // No item with the failure: there was none (DynamoDB returns the
        // old item whenever one exists).
        let Some(old) = old else {
            return Ok(Activation::UnknownDevice);
        };
        if old.get("activationCode").and_then(|v| v.as_s().ok()) != Some(&code.to_owned()) {
            return Ok(Activation::InvalidCode);
        }
        if is_activated(old) {
            return Ok(Activation::AlreadyActivated);
        }
        Err(StoreError(format!(
            "the activation of {serial_number}/{client_id} failed its condition although the code matches and `activated` is {:?}",
            old.get("activated")
        )))
    }

    /// The device with this serial number and client id, if any (a strongly
    /// consistent read).
    pub async fn get(
        &self,
        serial_number: &str,
        client_id: &str,
    ) -> Result<Option<Device>, StoreError> {
        let res = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("serialNumber", AttributeValue::S(serial_number.to_owned()))
            .key("clientId", AttributeValue::S(client_id.to_owned()))
            .consistent_read(true)
            .send()
            .await?;
        res.item.as_ref().map(Device::from_item).transpose()
    }

    /// One page of the catalog (a `Scan` of up to `limit` items from
    /// `start`), and where the next one starts (`None` after the last).
    pub async fn page(
        &self,
        start: Option<HashMap<String, AttributeValue>>,
        limit: i32,
    ) -> Result<(Vec<Device>, Option<HashMap<String, AttributeValue>>), StoreError> {
        let res = self
            .client
            .scan()
            .table_name(&self.table)
            .set_exclusive_start_key(start)
            .limit(limit)
            .send()
            .await?;
        let devices = res
            .items()
            .iter()
            .map(Device::from_item)
            .collect::<Result<_, _>>()?;
        Ok((devices, res.last_evaluated_key))
    }
}
