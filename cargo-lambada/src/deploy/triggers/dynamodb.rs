//! `#[dynamodb_stream]`: the table's stream (never created; streams must
//! be on) and the event-source mapping.

use serde_json::{Map, Value, json};

use super::mapping;
use super::{Grant, Wire, Wiring, other};
use crate::deploy::{Aws, Ctx, DeployError, aws_err};
use crate::manifest::TriggerEntry;
use crate::package::{Template, logical_id};

pub(super) struct DynamoDbStream;

impl Wiring for DynamoDbStream {
    async fn resolve(
        aws: &Aws,
        ctx: &mut Ctx,
        t: &TriggerEntry,
    ) -> Result<Option<String>, DeployError> {
        Ok(Some(table_stream_arn(aws, ctx, t).await?))
    }

    /// A stream's ARN ends with a timestamp only `DescribeTable` knows: a
    /// table named by name (or by its ARN) needs a parameter.
    fn template_source(t: &TriggerEntry, parameters: &mut Map<String, Value>) -> Option<Value> {
        if t.source.starts_with("arn:") && t.source.contains("/stream/") {
            return Some(json!(t.source));
        }
        let table = t
            .source
            .rsplit_once(":table/")
            .map(|(_, n)| n)
            .unwrap_or(&t.source);
        let param = logical_id("", table, "StreamArn");
        parameters.insert(
            param.clone(),
            json!({
                "Type": "String",
                "Description": format!("The stream ARN of DynamoDB table {table} (LatestStreamArn of `aws dynamodb describe-table --table-name {table}`)")
            }),
        );
        Some(json!({"Ref": param}))
    }

    fn template(tpl: &mut Template<'_>) {
        mapping::template(tpl);
    }

    async fn wire(
        w: &Wire<'_>,
        ctx: &mut Ctx,
        _grants: &mut Vec<Grant>,
    ) -> Result<(Option<String>, Vec<String>), DeployError> {
        mapping::wire(w, ctx).await
    }
}

async fn table_stream_arn(
    aws: &Aws,
    ctx: &mut Ctx,
    t: &TriggerEntry,
) -> Result<String, DeployError> {
    if t.source.starts_with("arn:") && t.source.contains("/stream/") {
        return Ok(t.source.clone());
    }
    // A table name, or a table's ARN.
    let table = t
        .source
        .rsplit_once(":table/")
        .map(|(_, name)| name)
        .unwrap_or(&t.source);
    ctx.read("dynamodb:DescribeTable");
    let out = match aws.dynamodb.describe_table().table_name(table).send().await {
        Ok(o) => o,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            return Err(other(format!(
                "trigger `{}`: the DynamoDB table `{table}` does not exist in {}: create it first, with streams on",
                t.handler, aws.region
            )));
        }
        Err(e) => return Err(aws_err("dynamodb:DescribeTable")(e)),
    };
    let desc = out.table();
    let enabled = desc
        .and_then(|d| d.stream_specification())
        .is_some_and(|s| s.stream_enabled());
    match desc.and_then(|d| d.latest_stream_arn()) {
        Some(arn) if enabled => Ok(arn.to_owned()),
        _ => Err(other(format!(
            "trigger `{}`: the DynamoDB table `{table}` has no stream: turn streams on, e.g. `aws dynamodb update-table --table-name {table} --stream-specification StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES`",
            t.handler
        ))),
    }
}
