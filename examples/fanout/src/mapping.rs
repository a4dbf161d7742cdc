//! The mapping table (the article's schema): `sourceArn` (partition key),
//! `id` (sort key), `type`, `destination`, `active`, and per-type
//! properties as more string attributes; read per source and cached for a
//! short time between invocations.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;

/// The kind of target a mapping forwards to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetType {
    /// `sns`: PublishBatch to a topic (ARN).
    Sns,
    /// `sqs`: SendMessageBatch to a queue (URL or name).
    Sqs,
    /// `kinesis`: PutRecords to a stream (name or ARN).
    Kinesis,
    /// `firehose`: PutRecordBatch to a delivery stream (name).
    Firehose,
    /// `lambda`: Invoke of a function (name or ARN) with `{"Records": […]}`.
    Lambda,
    /// `redis`: RPUSH to a list or PUBLISH to a channel (`host:port`).
    Redis,
    /// `memcached`: SET of each record under its key (`host:port`).
    Memcached,
}

impl TargetType {
    /// Every type, as the CLI lists them.
    pub const ALL: [TargetType; 7] = [
        TargetType::Sns,
        TargetType::Sqs,
        TargetType::Kinesis,
        TargetType::Firehose,
        TargetType::Lambda,
        TargetType::Redis,
        TargetType::Memcached,
    ];

    /// The name in the table's `type` attribute.
    pub const fn as_str(self) -> &'static str {
        match self {
            TargetType::Sns => "sns",
            TargetType::Sqs => "sqs",
            TargetType::Kinesis => "kinesis",
            TargetType::Firehose => "firehose",
            TargetType::Lambda => "lambda",
            TargetType::Redis => "redis",
            TargetType::Memcached => "memcached",
        }
    }
}

impl fmt::Display for TargetType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TargetType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        TargetType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!(
                    "unknown target type `{s}` (one of {})",
                    TargetType::ALL.map(TargetType::as_str).join(", ")
                )
            })
    }
}

/// One row of the mapping table.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    /// `sourceArn`: the Kinesis stream ARN, or the DynamoDB table or
    /// stream ARN.
    pub source_arn: String,
    /// `id`: the mapping's name.
    pub id: String,
    /// `type`.
    pub target: TargetType,
    /// `destination`: ARN, name, URL or `host:port`, by type.
    pub destination: String,
    /// `active`.
    pub active: bool,
    /// `convertDDB`: DynamoDB Streams records as plain JSON.
    pub convert_ddb: bool,
    /// The other string attributes: `action` and `key` (redis),
    /// `keyPrefix` and `ttl` (memcached), `invocationType` (lambda).
    pub properties: BTreeMap<String, String>,
}

impl Mapping {
    /// A property, if set.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(name).map(String::as_str)
    }

    /// The table item.
    pub fn to_item(&self) -> HashMap<String, AttributeValue> {
        let mut item: HashMap<String, AttributeValue> = self
            .properties
            .iter()
            .map(|(k, v)| (k.clone(), AttributeValue::S(v.clone())))
            .collect();
        item.insert(
            "sourceArn".into(),
            AttributeValue::S(self.source_arn.clone()),
        );
        item.insert("id".into(), AttributeValue::S(self.id.clone()));
        item.insert(
            "type".into(),
            AttributeValue::S(self.target.as_str().into()),
        );
        item.insert(
            "destination".into(),
            AttributeValue::S(self.destination.clone()),
        );
        item.insert("active".into(), AttributeValue::Bool(self.active));
        item.insert("convertDDB".into(), AttributeValue::Bool(self.convert_ddb));
        item
    }

    /// The mapping of a table item.
    pub fn from_item(item: &HashMap<String, AttributeValue>) -> Result<Mapping, String> {
        let s = |k: &str| -> Result<String, String> {
            match item.get(k) {
                Some(AttributeValue::S(s)) => Ok(s.clone()),
                _ => Err(format!("the item has no string `{k}`")),
            }
        };
        let flag = |k: &str| match item.get(k) {
            Some(AttributeValue::Bool(b)) => *b,
            Some(AttributeValue::S(s)) => s == "true",
            _ => false,
        };
        const FIXED: [&str; 6] = [
            "sourceArn",
            "id",
            "type",
            "destination",
            "active",
            "convertDDB",
        ];
        let properties = item
            .iter()
            .filter(|(k, _)| !FIXED.contains(&k.as_str()))
            .filter_map(|(k, v)| match v {
                AttributeValue::S(s) => Some((k.clone(), s.clone())),
                AttributeValue::N(n) => Some((k.clone(), n.clone())),
                AttributeValue::Bool(b) => Some((k.clone(), b.to_string())),
                _ => None,
            })
            .collect();
        Ok(Mapping {
            source_arn: s("sourceArn")?,
            id: s("id")?,
            target: s("type")?.parse()?,
            destination: s("destination")?,
            active: flag("active"),
            convert_ddb: flag("convertDDB"),
            properties,
        })
    }
}

/// The mapping table, read through a cache.
#[derive(Debug)]
pub struct MappingStore {
    db: aws_sdk_dynamodb::Client,
    table: String,
    ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, Vec<Mapping>)>>,
}

impl MappingStore {
    /// The table `table`, its reads kept for `ttl`.
    pub fn new(db: aws_sdk_dynamodb::Client, table: impl Into<String>, ttl: Duration) -> Self {
        MappingStore {
            db,
            table: table.into(),
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The DynamoDB client.
    pub fn client(&self) -> &aws_sdk_dynamodb::Client {
        &self.db
    }

    /// The active mappings of a source. For a DynamoDB stream ARN
    /// (`…:table/T/stream/LABEL`), the mappings registered on the table's
    /// ARN too.
    pub async fn active_for(&self, source_arn: &str) -> Result<Vec<Mapping>, String> {
        if let Some(hit) = self.cached(source_arn) {
            return Ok(hit);
        }
        let mut all = self.query(source_arn).await?;
        if let Some(i) = source_arn.find("/stream/") {
            all.extend(self.query(&source_arn[..i]).await?);
        }
        all.retain(|m| m.active);
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(source_arn.to_owned(), (Instant::now(), all.clone()));
        Ok(all)
    }

    fn cached(&self, source_arn: &str) -> Option<Vec<Mapping>> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(source_arn)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, m)| m.clone())
    }

    /// Forgets every cached read.
    pub fn invalidate(&self) {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Every mapping of a source, active or not, straight from the table.
    pub async fn query(&self, source_arn: &str) -> Result<Vec<Mapping>, String> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .db
                .query()
                .table_name(&self.table)
                .key_condition_expression("sourceArn = :s")
                .expression_attribute_values(":s", AttributeValue::S(source_arn.into()))
                .set_exclusive_start_key(start)
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| format!("reading the mappings of {source_arn}: {}", err(&e)))?;
            for item in page.items() {
                out.push(Mapping::from_item(item)?);
            }
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(out);
            }
        }
    }

    /// Every mapping of the table.
    pub async fn scan(&self) -> Result<Vec<Mapping>, String> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .db
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| format!("scanning {}: {}", self.table, err(&e)))?;
            for item in page.items() {
                out.push(Mapping::from_item(item)?);
            }
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                out.sort_by(|a, b| (&a.source_arn, &a.id).cmp(&(&b.source_arn, &b.id)));
                return Ok(out);
            }
        }
    }

    /// Writes a mapping (a new one, or over the one of the same key).
    pub async fn put(&self, m: &Mapping) -> Result<(), String> {
        self.db
            .put_item()
            .table_name(&self.table)
            .set_item(Some(m.to_item()))
            .send()
            .await
            .map_err(|e| format!("writing {}/{}: {}", m.source_arn, m.id, err(&e)))?;
        self.invalidate();
        Ok(())
    }

    /// One mapping.
    pub async fn get(&self, source_arn: &str, id: &str) -> Result<Option<Mapping>, String> {
        let out = self
            .db
            .get_item()
            .table_name(&self.table)
            .key("sourceArn", AttributeValue::S(source_arn.into()))
            .key("id", AttributeValue::S(id.into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| format!("reading {source_arn}/{id}: {}", err(&e)))?;
        out.item().map(Mapping::from_item).transpose()
    }

    /// Deletes a mapping; whether it was there.
    pub async fn delete(&self, source_arn: &str, id: &str) -> Result<bool, String> {
        let out = self
            .db
            .delete_item()
            .table_name(&self.table)
            .key("sourceArn", AttributeValue::S(source_arn.into()))
            .key("id", AttributeValue::S(id.into()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| format!("deleting {source_arn}/{id}: {}", err(&e)))?;
        self.invalidate();
        Ok(out.attributes().is_some())
    }

    /// Creates the table (on demand, `sourceArn` + `id`).
    pub async fn create_table(&self) -> Result<(), String> {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        let attr = |n: &str| {
            AttributeDefinition::builder()
                .attribute_name(n)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("name and type are set")
        };
        let key = |n: &str, t: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(n)
                .key_type(t)
                .build()
                .expect("name and type are set")
        };
        self.db
            .create_table()
            .table_name(&self.table)
            .attribute_definitions(attr("sourceArn"))
            .attribute_definitions(attr("id"))
            .key_schema(key("sourceArn", KeyType::Hash))
            .key_schema(key("id", KeyType::Range))
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .map_err(|e| format!("creating {}: {}", self.table, err(&e)))?;
        Ok(())
    }
}

/// An SDK error with its cause chain (the `Display` of an SDK error is
/// only "service error").
pub fn err(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
