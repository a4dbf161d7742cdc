//! `#[kinesis]`: the stream (never created) and the event-source mapping.

use serde_json::{Map, Value};

use super::mapping;
use super::{Grant, Wire, Wiring, other};
use crate::deploy::{Aws, Ctx, DeployError, aws_err};
use crate::manifest::TriggerEntry;
use crate::package::Template;

pub(super) struct Kinesis;

impl Wiring for Kinesis {
    async fn resolve(
        aws: &Aws,
        ctx: &mut Ctx,
        t: &TriggerEntry,
    ) -> Result<Option<String>, DeployError> {
        Ok(Some(stream_arn(aws, ctx, t).await?))
    }

    fn template_source(t: &TriggerEntry, _: &mut Map<String, Value>) -> Option<Value> {
        Some(mapping::template_arn(
            t,
            "kinesis",
            &format!("stream/{}", t.source),
        ))
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

async fn stream_arn(aws: &Aws, ctx: &mut Ctx, t: &TriggerEntry) -> Result<String, DeployError> {
    if t.source.starts_with("arn:") {
        return Ok(t.source.clone());
    }
    ctx.read("kinesis:DescribeStreamSummary");
    match aws
        .kinesis
        .describe_stream_summary()
        .stream_name(&t.source)
        .send()
        .await
    {
        Ok(o) => o
            .stream_description_summary()
            .map(|s| s.stream_arn().to_owned())
            .ok_or_else(|| {
                other(format!(
                    "kinesis:DescribeStreamSummary returned no ARN for {}",
                    t.source
                ))
            }),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            Err(other(format!(
                "trigger `{}`: the Kinesis stream `{}` does not exist in {}: create it first (deploy does not create streams), or give its ARN",
                t.handler, t.source, aws.region
            )))
        }
        Err(e) => Err(aws_err("kinesis:DescribeStreamSummary")(e)),
    }
}
