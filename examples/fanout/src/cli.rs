//! The `fanout` command (the article's management script):
//!
//! ```text
//! fanout [--table T] create-table
//! fanout [--table T] register <type> --source ARN --id ID --destination D
//!        [--active true|false] [--convert-ddb true|false] [--property K=V]...
//! fanout [--table T] list [--source ARN]
//! fanout [--table T] set --source ARN --id ID [--active B] [--destination D]
//!        [--convert-ddb B] [--property K=V]...
//! fanout [--table T] unregister --source ARN --id ID
//! fanout hook --source ARN --function NAME [--batch-size N] [--starting-position P]
//! fanout unhook --source ARN --function NAME
//! ```
//!
//! Types: sns, sqs, kinesis, firehose, lambda, redis, memcached.
//! Properties: redis `action` (`push` or `publish`) and `key` (the list or
//! channel, default the id); memcached `keyPrefix` and `ttl`; lambda
//! `invocationType` (`Event` or `RequestResponse`). Deploying the function
//! is `cargo lambada deploy -p example-fanout`.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::mapping::{Mapping, MappingStore, TargetType, err};

/// The usage text.
pub const USAGE: &str = "usage: fanout [--table T] <create-table | register <type> | list | set | unregister | hook | unhook> [options]
  register <type> --source ARN --id ID --destination D [--active true|false] [--convert-ddb true|false] [--property K=V]...
  list [--source ARN]
  set --source ARN --id ID [--active B] [--destination D] [--convert-ddb B] [--property K=V]...
  unregister --source ARN --id ID
  hook --source ARN --function NAME [--batch-size N] [--starting-position TRIM_HORIZON|LATEST]
  unhook --source ARN --function NAME
types: sns, sqs, kinesis, firehose, lambda, redis, memcached";

#[derive(Debug, Default)]
struct Args {
    positional: Vec<String>,
    options: BTreeMap<String, String>,
    properties: BTreeMap<String, String>,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut out = Args::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if let Some(name) = a.strip_prefix("--") {
            let (name, value) = match name.split_once('=') {
                Some((n, v)) => (n.to_owned(), v.to_owned()),
                None => (
                    name.to_owned(),
                    it.next()
                        .ok_or_else(|| format!("--{name} needs a value"))?
                        .clone(),
                ),
            };
            if name == "property" {
                let (k, v) = value
                    .split_once('=')
                    .ok_or_else(|| format!("--property {value}: expected KEY=VALUE"))?;
                out.properties.insert(k.to_owned(), v.to_owned());
            } else {
                out.options.insert(name, value);
            }
        } else {
            out.positional.push(a.clone());
        }
    }
    Ok(out)
}

impl Args {
    fn required(&self, name: &str) -> Result<&str, String> {
        self.options
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| format!("--{name} is required"))
    }
    fn flag(&self, name: &str) -> Result<Option<bool>, String> {
        self.options
            .get(name)
            .map(|v| match v.as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                other => Err(format!("--{name} {other}: expected true or false")),
            })
            .transpose()
    }
    fn allow(&self, names: &[&str]) -> Result<(), String> {
        match self.options.keys().find(|k| !names.contains(&k.as_str())) {
            Some(k) => Err(format!("unknown option --{k}\n{USAGE}")),
            None => Ok(()),
        }
    }
}

/// Runs one command; what it prints.
pub async fn run(conf: &aws_config::SdkConfig, args: &[String]) -> Result<String, String> {
    let a = parse(args)?;
    let table = a
        .options
        .get("table")
        .cloned()
        .or_else(|| std::env::var("FANOUT_TABLE").ok())
        .unwrap_or_else(|| "fanoutTargets".into());
    let store = MappingStore::new(aws_sdk_dynamodb::Client::new(conf), table, Duration::ZERO);
    let command = a.positional.first().map(String::as_str).unwrap_or("");
    match command {
        "create-table" => {
            a.allow(&["table"])?;
            store.create_table().await?;
            Ok(format!("created {}\n", store.table()))
        }
        "register" => {
            a.allow(&[
                "table",
                "source",
                "id",
                "destination",
                "active",
                "convert-ddb",
            ])?;
            let target: TargetType = a
                .positional
                .get(1)
                .ok_or_else(|| format!("register needs a type\n{USAGE}"))?
                .parse()?;
            let m = Mapping {
                source_arn: a.required("source")?.to_owned(),
                id: a.required("id")?.to_owned(),
                target,
                destination: a.required("destination")?.to_owned(),
                active: a.flag("active")?.unwrap_or(false),
                convert_ddb: a.flag("convert-ddb")?.unwrap_or(false),
                properties: a.properties.clone(),
            };
            if store.get(&m.source_arn, &m.id).await?.is_some() {
                return Err(format!(
                    "{} is already registered on {} (use set, or unregister it first)",
                    m.id, m.source_arn
                ));
            }
            store.put(&m).await?;
            Ok(format!(
                "registered {} {} -> {} {} (active: {})\n",
                m.source_arn, m.id, m.target, m.destination, m.active
            ))
        }
        "list" => {
            a.allow(&["table", "source"])?;
            let all = match a.options.get("source") {
                Some(s) => store.query(s).await?,
                None => store.scan().await?,
            };
            let mut out =
                String::from("sourceArn\tid\ttype\tdestination\tactive\tconvertDDB\tproperties\n");
            for m in all {
                let props: Vec<String> = m
                    .properties
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                out.push_str(&format!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                    m.source_arn,
                    m.id,
                    m.target,
                    m.destination,
                    m.active,
                    m.convert_ddb,
                    props.join(",")
                ));
            }
            Ok(out)
        }
        "set" => {
            a.allow(&[
                "table",
                "source",
                "id",
                "destination",
                "active",
                "convert-ddb",
            ])?;
            let (source, id) = (a.required("source")?, a.required("id")?);
            let mut m = store
                .get(source, id)
                .await?
                .ok_or_else(|| format!("{id} is not registered on {source}"))?;
            if let Some(b) = a.flag("active")? {
                m.active = b;
            }
            if let Some(b) = a.flag("convert-ddb")? {
                m.convert_ddb = b;
            }
            if let Some(d) = a.options.get("destination") {
                m.destination = d.clone();
            }
            m.properties.extend(a.properties.clone());
            store.put(&m).await?;
            Ok(format!("updated {source} {id} (active: {})\n", m.active))
        }
        "unregister" => {
            a.allow(&["table", "source", "id"])?;
            let (source, id) = (a.required("source")?, a.required("id")?);
            if store.delete(source, id).await? {
                Ok(format!("unregistered {source} {id}\n"))
            } else {
                Err(format!("{id} is not registered on {source}"))
            }
        }
        "hook" => {
            a.allow(&[
                "table",
                "source",
                "function",
                "batch-size",
                "starting-position",
            ])?;
            let lambda = aws_sdk_lambda::Client::new(conf);
            let batch: i32 = a
                .options
                .get("batch-size")
                .map(|b| {
                    b.parse()
                        .map_err(|_| format!("--batch-size {b}: not a number"))
                })
                .transpose()?
                .unwrap_or(500);
            let position = a
                .options
                .get("starting-position")
                .map_or("TRIM_HORIZON", String::as_str);
            let out = lambda
                .create_event_source_mapping()
                .event_source_arn(a.required("source")?)
                .function_name(a.required("function")?)
                .batch_size(batch)
                .starting_position(position.into())
                .function_response_types(
                    aws_sdk_lambda::types::FunctionResponseType::ReportBatchItemFailures,
                )
                .send()
                .await
                .map_err(|e| format!("creating the event-source mapping: {}", err(&e)))?;
            Ok(format!(
                "hooked {} -> {} ({})\n",
                a.required("source")?,
                a.required("function")?,
                out.uuid().unwrap_or("?")
            ))
        }
        "unhook" => {
            a.allow(&["table", "source", "function"])?;
            let lambda = aws_sdk_lambda::Client::new(conf);
            let (source, function) = (a.required("source")?, a.required("function")?);
            let list = lambda
                .list_event_source_mappings()
                .event_source_arn(source)
                .function_name(function)
                .send()
                .await
                .map_err(|e| format!("listing the event-source mappings: {}", err(&e)))?;
            let mut out = String::new();
            for m in list.event_source_mappings() {
                let Some(uuid) = m.uuid() else { continue };
                lambda
                    .delete_event_source_mapping()
                    .uuid(uuid)
                    .send()
                    .await
                    .map_err(|e| format!("deleting {uuid}: {}", err(&e)))?;
                out.push_str(&format!("unhooked {source} -> {function} ({uuid})\n"));
            }
            if out.is_empty() {
                return Err(format!("{function} is not hooked to {source}"));
            }
            Ok(out)
        }
        "" | "help" | "--help" => Ok(format!("{USAGE}\n")),
        other => Err(format!("unknown command `{other}`\n{USAGE}")),
    }
}
