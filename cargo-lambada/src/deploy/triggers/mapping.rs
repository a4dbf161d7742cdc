//! The event-source mapping of the polled kinds (SQS, Kinesis, DynamoDB
//! Streams): created, or updated to the trigger's settings.

use std::time::Duration;

use aws_sdk_lambda::types::{EventSourceMappingConfiguration, FunctionResponseType};

use super::Wire;
use crate::deploy::{Aws, Ctx, DeployError, aws_err};
use serde_json::{Value, json};

use crate::manifest::{TriggerEntry, TriggerKind};
use crate::package::Template;

/// A polled source given by name as a template value: its ARN in the
/// stack's account and region, `arn:${AWS::Partition}:{service}:…:{path}`;
/// one given by ARN as it is.
pub(super) fn template_arn(t: &TriggerEntry, service: &str, path: &str) -> Value {
    if t.source.starts_with("arn:") {
        return json!(t.source);
    }
    json!({"Fn::Sub": format!("arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{path}")})
}

/// The event-source mapping of a polled trigger in the template.
pub(super) fn template(tpl: &mut Template<'_>) {
    let t = tpl.t;
    let mut props = json!({
        "EventSourceArn": tpl.source.clone().unwrap_or_default(),
        "FunctionName": {"Ref": tpl.function_id()},
        "BatchSize": t.batch_size.unwrap_or(if t.kind == TriggerKind::Sqs { 10 } else { 100 }),
        "FunctionResponseTypes": ["ReportBatchItemFailures"]
    });
    if let Some(w) = t.batch_window {
        props["MaximumBatchingWindowInSeconds"] = json!(w);
    }
    if let Some(p) = t.starting_position() {
        props["StartingPosition"] = json!(p);
    }
    tpl.insert(
        "Mapping",
        json!({"Type": "AWS::Lambda::EventSourceMapping", "Properties": props}),
    );
}

/// Wires a polled trigger to its source (read by `resolve`).
pub(super) async fn wire(
    w: &Wire<'_>,
    ctx: &mut Ctx,
) -> Result<(Option<String>, Vec<String>), DeployError> {
    let arn = w.source.unwrap_or_default();
    let line = ensure_mapping(w.site.aws, ctx, w.t, w.site.name, arn, w.mappings).await?;
    Ok((Some(arn.to_owned()), vec![line]))
}

async fn ensure_mapping(
    aws: &Aws,
    ctx: &mut Ctx,
    t: &TriggerEntry,
    name: &str,
    source: &str,
    mappings: &[EventSourceMappingConfiguration],
) -> Result<String, DeployError> {
    use aws_sdk_lambda::types::EventSourcePosition;
    let batch = t
        .batch_size
        .unwrap_or(if t.kind == TriggerKind::Sqs { 10 } else { 100 });
    let window = t.batch_window.unwrap_or(0);
    let position = t.starting_position();
    let settings = {
        let mut s = format!("batch {batch}");
        if window > 0 {
            s.push_str(&format!(", window {window} s"));
        }
        if let Some(p) = position {
            s.push_str(&format!(", from {p}"));
        }
        s
    };
    let failures = FunctionResponseType::ReportBatchItemFailures;
    if let Some(m) = mappings
        .iter()
        .find(|m| m.event_source_arn() == Some(source))
    {
        let uuid = m.uuid().unwrap_or_default();
        let mut diffs = Vec::new();
        if m.batch_size() != Some(batch) {
            diffs.push(format!("batch size {:?} → {batch}", m.batch_size()));
        }
        let window_now = m.maximum_batching_window_in_seconds().unwrap_or(0);
        if window_now != window {
            diffs.push(format!("batching window {window_now} → {window} s"));
        }
        if !m.function_response_types().contains(&failures) {
            diffs.push("report batch item failures".into());
        }
        if let (Some(p), Some(now)) = (position, m.starting_position())
            && now.as_str() != p
        {
            ctx.step(&format!(
                "  mapping {uuid} started from {}: a starting position only applies when a mapping is created, so {p} is not applied (delete the mapping to recreate it)",
                now.as_str()
            ));
        }
        if !diffs.is_empty() {
            ctx.change(
                format!("event-source mapping {uuid}"),
                "update",
                diffs.join(", "),
            );
            if ctx.write("lambda:UpdateEventSourceMapping") {
                aws.lambda
                    .update_event_source_mapping()
                    .uuid(uuid)
                    .batch_size(batch)
                    .maximum_batching_window_in_seconds(window)
                    .function_response_types(failures)
                    .send()
                    .await
                    .map_err(aws_err("lambda:UpdateEventSourceMapping"))?;
            }
        }
        return Ok(format!("{} {source} → mapping {uuid} ({settings})", t.kind));
    }
    ctx.change(
        format!("event-source mapping {source}"),
        "create",
        format!("→ {name}, {settings}"),
    );
    if !ctx.write("lambda:CreateEventSourceMapping") {
        return Ok(format!("{} {source} → new mapping ({settings})", t.kind));
    }
    let mut attempt = 0;
    loop {
        let mut req = aws
            .lambda
            .create_event_source_mapping()
            .function_name(name)
            .event_source_arn(source)
            .batch_size(batch)
            .function_response_types(failures.clone());
        if let Some(w) = t.batch_window {
            req = req.maximum_batching_window_in_seconds(w);
        }
        if let Some(p) = position {
            req = req.starting_position(EventSourcePosition::from(p));
        }
        match req.send().await {
            Ok(o) => {
                return Ok(format!(
                    "{} {source} → mapping {} ({settings})",
                    t.kind,
                    o.uuid().unwrap_or("?")
                ));
            }
            // The role's new permissions take a few seconds to reach Lambda.
            Err(e)
                if attempt < 15
                    && e.as_service_error().is_some_and(|s| {
                        let m = s.to_string().to_ascii_lowercase();
                        s.is_invalid_parameter_value_exception()
                            && (m.contains("role") || m.contains("permission"))
                    }) =>
            {
                attempt += 1;
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            Err(e) => return Err(aws_err("lambda:CreateEventSourceMapping")(e)),
        }
    }
}
