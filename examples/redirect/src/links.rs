//! The links, in a DynamoDB table.
//!
//! | attribute | type | what |
//! |---|---|---|
//! | `code` | S, partition key | the short code |
//! | `url` | S | the target |
//! | `permanent` | BOOL | 301 rather than 302 |
//! | `created_at` | S | RFC 3339, UTC |

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::primitives::{DateTime, DateTimeFormat};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use crate::code;

/// How many generated codes are tried before giving up: with 62⁷ codes, a
/// second try is already rare.
const ATTEMPTS: usize = 5;

/// A short link, as stored and as `POST /links` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The short code.
    pub code: String,
    /// The target URL.
    pub url: String,
    /// Whether it answers with 301 rather than 302.
    pub permanent: bool,
    /// When it was created (RFC 3339, UTC).
    pub created_at: String,
}

impl Link {
    /// A link created now.
    pub fn new(code: String, url: String, permanent: bool) -> Link {
        let created_at = DateTime::from(std::time::SystemTime::now())
            .fmt(DateTimeFormat::DateTime)
            .unwrap_or_default();
        Link {
            code,
            url,
            permanent,
            created_at,
        }
    }

    fn to_item(&self) -> HashMap<String, AttributeValue> {
        HashMap::from([
            ("code".into(), AttributeValue::S(self.code.clone())),
            ("url".into(), AttributeValue::S(self.url.clone())),
            ("permanent".into(), AttributeValue::Bool(self.permanent)),
            (
                "created_at".into(),
                AttributeValue::S(self.created_at.clone()),
            ),
        ])
    }

    fn from_item(item: &HashMap<String, AttributeValue>) -> Result<Link, StoreError> {
        let s = |name: &str| {
            item.get(name)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .ok_or_else(|| StoreError(format!("item without a string `{name}`")))
        };
        Ok(Link {
            code: s("code")?,
            url: s("url")?,
            permanent: item
                .get("permanent")
                .and_then(|v| v.as_bool().ok())
                .copied()
                .unwrap_or(false),
            created_at: s("created_at").unwrap_or_default(),
        })
    }
}

/// What a conditional write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    /// The link was written.
    Created,
    /// Another link has the code; nothing was written.
    CodeTaken,
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

/// Makes a code for a link created without one.
pub type CodeGenerator = Arc<dyn Fn() -> String + Send + Sync>;

/// The link table: a DynamoDB client, built once per cold start and shared
/// by every invocation as `State<Links>`.
#[derive(Clone)]
pub struct Links {
    client: aws_sdk_dynamodb::Client,
    table: String,
    codes: CodeGenerator,
}

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Links")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl Links {
    /// The table `table` through `client`, with random base62 codes.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Links {
        Links {
            client,
            table: table.into(),
            codes: Arc::new(code::generate),
        }
    }

    /// The table named by `LINKS_TABLE` (default `links`), with the AWS
    /// configuration of the environment: the credential chain (the
    /// function's role under Lambda), `AWS_REGION`, and `AWS_ENDPOINT_URL`
    /// for DynamoDB Local or moto.
    pub async fn from_env() -> Links {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let table = std::env::var("LINKS_TABLE")
            .ok()
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "links".into());
        Links::new(aws_sdk_dynamodb::Client::new(&config), table)
    }

    /// Replaces the code generator (the tests force collisions with it).
    pub fn with_codes(mut self, codes: impl Fn() -> String + Send + Sync + 'static) -> Links {
        self.codes = Arc::new(codes);
        self
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Writes `link` unless its code exists: one conditional `PutItem`
    /// (`attribute_not_exists(code)`), so there is no window between a read
    /// and a write for another writer to slip into.
    pub async fn put_new(&self, link: &Link) -> Result<Put, StoreError> {
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(link.to_item()))
            .condition_expression("attribute_not_exists(#code)")
            .expression_attribute_names("#code", "code")
            .send()
            .await;
        match res {
            Ok(_) => Ok(Put::Created),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(Put::CodeTaken)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Writes a link under a fresh generated code, drawing another code
    /// when one is taken.
    pub async fn put_generated(&self, url: String, permanent: bool) -> Result<Link, StoreError> {
        for _ in 0..ATTEMPTS {
            let link = Link::new((self.codes)(), url.clone(), permanent);
            match self.put_new(&link).await? {
                Put::Created => return Ok(link),
                Put::CodeTaken => {
                    tracing::warn!(code = %link.code, "generated code taken, drawing another")
                }
            }
        }
        Err(StoreError(format!(
            "{ATTEMPTS} generated codes in a row were taken"
        )))
    }

    /// The link with this code, if any (a strongly consistent read: a link
    /// works as soon as `POST /links` answered 201).
    pub async fn get(&self, code: &str) -> Result<Option<Link>, StoreError> {
        let res = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("code", AttributeValue::S(code.to_owned()))
            .consistent_read(true)
            .send()
            .await?;
        res.item.as_ref().map(Link::from_item).transpose()
    }
}
