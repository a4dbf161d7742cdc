//! `#[sqs]`: the queue (never created; its ARN read before the role is
//! written) and the event-source mapping.

use serde_json::{Map, Value};

use super::mapping;
use super::{Grant, Wire, Wiring, other};
use crate::deploy::{Aws, Ctx, DeployError, aws_err};
use crate::manifest::TriggerEntry;
use crate::package::Template;

pub(super) struct Sqs;

impl Wiring for Sqs {
    async fn resolve(
        aws: &Aws,
        ctx: &mut Ctx,
        t: &TriggerEntry,
    ) -> Result<Option<String>, DeployError> {
        Ok(Some(queue_arn(aws, ctx, t).await?))
    }

    fn template_source(t: &TriggerEntry, _: &mut Map<String, Value>) -> Option<Value> {
        Some(mapping::template_arn(t, "sqs", &t.source))
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

async fn queue_arn(aws: &Aws, ctx: &mut Ctx, t: &TriggerEntry) -> Result<String, DeployError> {
    if t.source.starts_with("arn:") {
        return Ok(t.source.clone());
    }
    ctx.read("sqs:GetQueueUrl");
    let url = match aws.sqs.get_queue_url().queue_name(&t.source).send().await {
        Ok(o) => o.queue_url().unwrap_or_default().to_owned(),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_queue_does_not_exist()) =>
        {
            return Err(other(format!(
                "trigger `{}`: the SQS queue `{}` does not exist in {}: create it first (deploy does not create queues), or give its ARN",
                t.handler, t.source, aws.region
            )));
        }
        Err(e) => return Err(aws_err("sqs:GetQueueUrl")(e)),
    };
    ctx.read("sqs:GetQueueAttributes");
    let attrs = aws
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(aws_err("sqs:GetQueueAttributes"))?;
    attrs
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| {
            other(format!(
                "sqs:GetQueueAttributes returned no QueueArn for {url}"
            ))
        })
}
