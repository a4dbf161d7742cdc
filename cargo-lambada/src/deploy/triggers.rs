//! Triggers: what `deploy` and `remove` do for each non-HTTP trigger.
//!
//! Each trigger runs in its own function, made by the parent module's
//! `ensure_function` (same zip, `Handler` = the handler's name, tagged
//! `lambada:trigger`). Here it is wired to its source, reading before
//! writing:
//!
//! - sns: `GetTopicAttributes`; a topic given by name is created
//!   (`CreateTopic`, tagged) when missing, one given by ARN must exist.
//!   `AddPermission` (`lambada-sns`) unless present, then
//!   `ListSubscriptionsByTopic` and `Subscribe` unless subscribed.
//! - schedule: `DescribeRule` / `PutRule` (the rule is named like the
//!   function), `ListTargetsByRule` / `PutTargets` (target `lambada`, with
//!   the input), `AddPermission` (`lambada-events`).
//! - sqs, kinesis, dynamodb_stream: the source's ARN (`GetQueueUrl` and
//!   `GetQueueAttributes`, `DescribeStreamSummary`, `DescribeTable`) is read
//!   before the role's policy is written, then `ListEventSourceMappings` and
//!   `CreateEventSourceMapping` or `UpdateEventSourceMapping`.
//! - invoke: nothing to wire.
//!
//! The function's policy (`GetPolicy`) and its mappings are the state: the
//! wiring of another source (the trigger changed its topic, queue or kind)
//! is undone. Trigger functions are found by their description and
//! confirmed by their tags; those no longer in the app are unwired and
//! deleted, with the topics and rules deploy created for them.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_lambda::types::{EventSourceMappingConfiguration, FunctionResponseType};
use serde::Serialize;
use serde_json::{Value, json};

use super::{Aws, Ctx, DeployError, MARKER, TAG, aws_err};
use crate::config::Config;
use crate::manifest::{TriggerEntry, TriggerKind};

/// The tag naming the handler a trigger function runs.
pub(super) const TRIGGER_TAG: &str = "lambada:trigger";
/// The statement id of the permission for the SNS topic.
const SNS_SID: &str = "lambada-sns";
/// The statement id of the permission for the EventBridge rule.
const EVENTS_SID: &str = "lambada-events";
/// The statement id of the permission for the API's authorizers.
const AUTHORIZER_SID: &str = "lambada-authorizer";
/// The id of the rule's target.
const TARGET_ID: &str = "lambada";

/// What deploy did for one trigger, for the summary and `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct TriggerReport {
    /// The handler's name (the function's `Handler`).
    pub handler: String,
    /// What invokes it.
    pub kind: TriggerKind,
    /// The function it runs in.
    pub function: String,
    /// That function's ARN.
    pub function_arn: String,
    /// The source: topic, queue or stream ARN, schedule expression; none for
    /// `invoke`.
    pub source: Option<String>,
    /// What connects the source to the function, one line each.
    pub wiring: Vec<String>,
}

/// The description of a trigger function: how `deploy` and `remove` find
/// the trigger functions of an app (then confirmed by their tags).
pub(super) fn description(function: &str, handler: &str) -> String {
    format!("{MARKER} {function}, trigger {handler}")
}

fn other(message: String) -> DeployError {
    DeployError::Other(message)
}

/// Whether an error says the resource does not exist (each service has its
/// own code for it).
fn not_found<E: aws_sdk_s3::error::ProvideErrorMetadata>(e: &E) -> bool {
    matches!(
        e.code(),
        Some("ResourceNotFoundException" | "ResourceNotFound" | "NotFound" | "NotFoundException")
    )
}

fn arn_part(arn: &str, i: usize) -> &str {
    arn.split(':').nth(i).unwrap_or_default()
}

/// The ARN of a trigger's SNS topic, and whether it was named (so deploy
/// may create it) rather than given by ARN.
fn topic_arn(t: &TriggerEntry, region: &str, function_arn: &str) -> (String, bool) {
    if t.source.starts_with("arn:") {
        (t.source.clone(), false)
    } else {
        (
            format!(
                "arn:{}:sns:{region}:{}:{}",
                arn_part(function_arn, 1),
                arn_part(function_arn, 4),
                t.source
            ),
            true,
        )
    }
}

// ---------------------------------------------------------------------------
// Sources of the polled triggers, read before the role is written.

/// The event-source ARN of each polled trigger (`None` for the others),
/// in the order of `triggers`. Queues, streams and tables are never
/// created: a missing one is an error saying so.
pub(super) async fn resolve_sources(
    aws: &Aws,
    ctx: &mut Ctx,
    triggers: &[TriggerEntry],
) -> Result<Vec<Option<String>>, DeployError> {
    let mut out = Vec::with_capacity(triggers.len());
    for t in triggers {
        out.push(match t.kind {
            TriggerKind::Sqs => Some(queue_arn(aws, ctx, t).await?),
            TriggerKind::Kinesis => Some(stream_arn(aws, ctx, t).await?),
            TriggerKind::DynamoDbStream => Some(table_stream_arn(aws, ctx, t).await?),
            _ => None,
        });
    }
    Ok(out)
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

/// The statements the role needs to read the polled sources: one per kind,
/// naming exactly their ARNs.
pub(super) fn role_statements(triggers: &[TriggerEntry], sources: &[Option<String>]) -> Vec<Value> {
    let mut by_kind: BTreeMap<TriggerKind, BTreeSet<&str>> = BTreeMap::new();
    for (t, s) in triggers.iter().zip(sources) {
        if let Some(arn) = s {
            by_kind.entry(t.kind).or_default().insert(arn);
        }
    }
    by_kind
        .into_iter()
        .map(|(kind, arns)| {
            json!({"Effect": "Allow", "Action": kind.read_actions(), "Resource": arns})
        })
        .collect()
}

/// The statements, in words, for a role cargo-lambada does not manage.
pub(super) fn describe_statements(statements: &[Value]) -> String {
    statements
        .iter()
        .map(|s| {
            let list = |v: &Value| {
                v.as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default()
            };
            format!("{} on {}", list(&s["Action"]), list(&s["Resource"]))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

// ---------------------------------------------------------------------------
// The state of a function: its permissions and its mappings.

/// One statement of a function's resource policy.
#[derive(Debug, Clone)]
struct Grant {
    sid: String,
    source_arn: String,
}

fn parse_grants(policy: &str) -> Vec<Grant> {
    let v: Value = serde_json::from_str(policy).unwrap_or_default();
    v["Statement"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| Grant {
                    sid: s["Sid"].as_str().unwrap_or_default().to_owned(),
                    source_arn: s["Condition"]["ArnLike"]["AWS:SourceArn"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn read_grants(aws: &Aws, ctx: &mut Ctx, name: &str) -> Result<Vec<Grant>, DeployError> {
    ctx.read("lambda:GetPolicy");
    match aws.lambda.get_policy().function_name(name).send().await {
        Ok(o) => Ok(parse_grants(o.policy().unwrap_or("{}"))),
        Err(e) if not_found(&e) => Ok(Vec::new()),
        Err(e) => Err(aws_err("lambda:GetPolicy")(e)),
    }
}

/// Adds the permission `sid` for `principal` from `source_arn`, unless
/// present; a statement `sid` for another source is replaced.
async fn ensure_grant(
    aws: &Aws,
    ctx: &mut Ctx,
    name: &str,
    grants: &mut Vec<Grant>,
    sid: &str,
    principal: &str,
    source_arn: &str,
) -> Result<(), DeployError> {
    if grants
        .iter()
        .any(|g| g.sid == sid && g.source_arn == source_arn)
    {
        return Ok(());
    }
    if grants.iter().any(|g| g.sid == sid) {
        remove_grant(aws, ctx, name, sid).await?;
        grants.retain(|g| g.sid != sid);
    }
    ctx.change(
        format!("permission {sid} of {name}"),
        "create",
        format!("{principal} from {source_arn}"),
    );
    if ctx.write("lambda:AddPermission") {
        match aws
            .lambda
            .add_permission()
            .function_name(name)
            .statement_id(sid)
            .action("lambda:InvokeFunction")
            .principal(principal)
            .source_arn(source_arn)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_conflict_exception()) => {}
            Err(e) => return Err(aws_err("lambda:AddPermission")(e)),
        }
    }
    grants.push(Grant {
        sid: sid.to_owned(),
        source_arn: source_arn.to_owned(),
    });
    Ok(())
}

async fn remove_grant(aws: &Aws, ctx: &mut Ctx, name: &str, sid: &str) -> Result<(), DeployError> {
    ctx.change(format!("permission {sid} of {name}"), "delete", "");
    if ctx.write("lambda:RemovePermission") {
        match aws
            .lambda
            .remove_permission()
            .function_name(name)
            .statement_id(sid)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if not_found(&e) => {}
            Err(e) => return Err(aws_err("lambda:RemovePermission")(e)),
        }
    }
    Ok(())
}

async fn list_mappings(
    aws: &Aws,
    ctx: &mut Ctx,
    name: &str,
) -> Result<Vec<EventSourceMappingConfiguration>, DeployError> {
    let mut out = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        ctx.read("lambda:ListEventSourceMappings");
        let page = match aws
            .lambda
            .list_event_source_mappings()
            .function_name(name)
            .set_marker(marker.take())
            .send()
            .await
        {
            Ok(p) => p,
            Err(e) if not_found(&e) => break,
            Err(e) => return Err(aws_err("lambda:ListEventSourceMappings")(e)),
        };
        out.extend(page.event_source_mappings().iter().cloned());
        match page.next_marker() {
            Some(m) if !m.is_empty() => marker = Some(m.to_owned()),
            _ => break,
        }
    }
    Ok(out)
}

async fn delete_mapping(
    aws: &Aws,
    ctx: &mut Ctx,
    m: &EventSourceMappingConfiguration,
) -> Result<(), DeployError> {
    let uuid = m.uuid().unwrap_or_default();
    ctx.change(
        format!("event-source mapping {uuid}"),
        "delete",
        format!("from {}", m.event_source_arn().unwrap_or("?")),
    );
    if ctx.write("lambda:DeleteEventSourceMapping") {
        match aws
            .lambda
            .delete_event_source_mapping()
            .uuid(uuid)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if not_found(&e) => {}
            Err(e) => return Err(aws_err("lambda:DeleteEventSourceMapping")(e)),
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Wiring.

/// Wires every trigger of the app (`functions[i]` is the ARN of trigger
/// `i`'s function and whether it was just created), then unwires and
/// deletes the trigger functions no longer in the app.
pub(super) async fn deploy(
    aws: &Aws,
    ctx: &mut Ctx,
    cfg: &Config,
    triggers: &[TriggerEntry],
    functions: &[(String, bool)],
    sources: &[Option<String>],
    api_id: Option<&str>,
) -> Result<Vec<TriggerReport>, DeployError> {
    let current_topics: BTreeSet<String> = triggers
        .iter()
        .zip(functions)
        .filter(|(t, _)| t.kind == TriggerKind::Sns)
        .map(|(t, (arn, _))| topic_arn(t, &aws.region, arn).0)
        .collect();
    let mut reports = Vec::with_capacity(triggers.len());
    for ((t, (arn, fresh)), source) in triggers.iter().zip(functions).zip(sources) {
        let name = t.function_name(&cfg.function);
        reports.push(
            wire(
                aws,
                ctx,
                cfg,
                t,
                &name,
                arn,
                *fresh,
                source.as_deref(),
                &current_topics,
                api_id,
            )
            .await?,
        );
    }
    let keep: BTreeSet<String> = triggers
        .iter()
        .map(|t| t.function_name(&cfg.function))
        .collect();
    for f in list_functions(aws, ctx, cfg).await? {
        if !keep.contains(&f.name) {
            ctx.step(&format!(
                "trigger `{}` is no longer in the app: unwiring and deleting {}",
                f.handler, f.name
            ));
            delete_function(aws, ctx, cfg, &f, &current_topics).await?;
        }
    }
    Ok(reports)
}

#[allow(clippy::too_many_arguments)]
async fn wire(
    aws: &Aws,
    ctx: &mut Ctx,
    cfg: &Config,
    t: &TriggerEntry,
    name: &str,
    function_arn: &str,
    fresh: bool,
    source: Option<&str>,
    current_topics: &BTreeSet<String>,
    api_id: Option<&str>,
) -> Result<TriggerReport, DeployError> {
    ctx.step(&format!("trigger: {} ({}) → {name}", t.handler, t.kind));
    let (mut grants, mappings) = if fresh {
        (Vec::new(), Vec::new())
    } else {
        (
            read_grants(aws, ctx, name).await?,
            list_mappings(aws, ctx, name).await?,
        )
    };
    // Undo the wiring of another source (the trigger changed its source or
    // its kind).
    let topic = (t.kind == TriggerKind::Sns).then(|| topic_arn(t, &aws.region, function_arn));
    for g in grants.clone() {
        if g.sid == SNS_SID && topic.as_ref().is_none_or(|(arn, _)| *arn != g.source_arn) {
            unsubscribe(aws, ctx, function_arn, &g.source_arn).await?;
            delete_topic_if_ours(aws, ctx, cfg, &g.source_arn, current_topics).await?;
            remove_grant(aws, ctx, name, SNS_SID).await?;
            grants.retain(|x| x.sid != SNS_SID);
        }
        let authorizer_arn =
            api_id.map(|api| authorizer_source_arn(&aws.region, function_arn, api));
        if g.sid == AUTHORIZER_SID
            && (t.kind != TriggerKind::Authorizer || authorizer_arn.as_ref() != Some(&g.source_arn))
        {
            remove_grant(aws, ctx, name, AUTHORIZER_SID).await?;
            grants.retain(|x| x.sid != AUTHORIZER_SID);
        }
        if g.sid == EVENTS_SID && t.kind != TriggerKind::Schedule {
            delete_rule(aws, ctx, cfg, name).await?;
            remove_grant(aws, ctx, name, EVENTS_SID).await?;
            grants.retain(|x| x.sid != EVENTS_SID);
        }
    }
    for m in &mappings {
        if m.event_source_arn() != source {
            delete_mapping(aws, ctx, m).await?;
        }
    }
    let (source, wiring) = match t.kind {
        TriggerKind::Sns => {
            let (arn, by_name) = topic.unwrap_or_default();
            let w = ensure_sns(
                aws,
                ctx,
                cfg,
                t,
                name,
                function_arn,
                &arn,
                by_name,
                &mut grants,
            )
            .await?;
            (Some(arn), w)
        }
        TriggerKind::Schedule => {
            let w = ensure_schedule(aws, ctx, cfg, t, name, function_arn, &mut grants).await?;
            (Some(t.source.clone()), w)
        }
        TriggerKind::Sqs | TriggerKind::Kinesis | TriggerKind::DynamoDbStream => {
            let arn = source.unwrap_or_default();
            let w = ensure_mapping(aws, ctx, t, name, arn, &mappings).await?;
            (Some(arn.to_owned()), vec![w])
        }
        TriggerKind::Invoke => (None, vec![format!("invoke directly: {function_arn}")]),
        TriggerKind::Authorizer => match api_id {
            Some(api) => {
                let arn = authorizer_source_arn(&aws.region, function_arn, api);
                ensure_grant(
                    aws,
                    ctx,
                    name,
                    &mut grants,
                    AUTHORIZER_SID,
                    "apigateway.amazonaws.com",
                    &arn,
                )
                .await?;
                (
                    Some(api.to_owned()),
                    vec![format!(
                        "authorizer of API {api}, invoked by API Gateway from {arn}"
                    )],
                )
            }
            None => (
                None,
                vec!["no HTTP routes: the authorizer protects nothing".into()],
            ),
        },
    };
    Ok(TriggerReport {
        handler: t.handler.clone(),
        kind: t.kind,
        function: name.to_owned(),
        function_arn: function_arn.to_owned(),
        source,
        wiring,
    })
}

/// What API Gateway's authorizers of `api` invoke a function from.
fn authorizer_source_arn(region: &str, function_arn: &str, api: &str) -> String {
    format!(
        "arn:aws:execute-api:{region}:{}:{api}/authorizers/*",
        arn_part(function_arn, 4)
    )
}

/// The SNS client for the topic's region.
fn sns_for(aws: &Aws, topic: &str) -> aws_sdk_sns::Client {
    let region = arn_part(topic, 3);
    if region.is_empty() || region == aws.region {
        return aws.sns.clone();
    }
    aws_sdk_sns::Client::from_conf(
        aws_sdk_sns::config::Builder::from(&aws.shared)
            .region(aws_sdk_sns::config::Region::new(region.to_owned()))
            .build(),
    )
}

fn sns_tag(key: &str, value: &str) -> Result<aws_sdk_sns::types::Tag, DeployError> {
    aws_sdk_sns::types::Tag::builder()
        .key(key)
        .value(value)
        .build()
        .map_err(|e| other(e.to_string()))
}

#[allow(clippy::too_many_arguments)]
async fn ensure_sns(
    aws: &Aws,
    ctx: &mut Ctx,
    cfg: &Config,
    t: &TriggerEntry,
    name: &str,
    function_arn: &str,
    topic: &str,
    by_name: bool,
    grants: &mut Vec<Grant>,
) -> Result<Vec<String>, DeployError> {
    let sns = sns_for(aws, topic);
    ctx.read("sns:GetTopicAttributes");
    let mut created = false;
    match sns.get_topic_attributes().topic_arn(topic).send().await {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_not_found_exception()) =>
        {
            if !by_name {
                return Err(other(format!(
                    "trigger `{}`: the SNS topic {topic} does not exist: create it, or name the topic (`topic = \"name\"`) and deploy creates it",
                    t.handler
                )));
            }
            created = true;
            ctx.change(
                format!("sns topic {}", t.source),
                "create",
                format!("tagged {TAG}={}", cfg.function),
            );
            if ctx.write("sns:CreateTopic") {
                sns.create_topic()
                    .name(&t.source)
                    .tags(sns_tag(TAG, &cfg.function)?)
                    .send()
                    .await
                    .map_err(aws_err("sns:CreateTopic"))?;
            }
        }
        Err(e) => return Err(aws_err("sns:GetTopicAttributes")(e)),
    }
    // The permission first, so no message is refused.
    ensure_grant(aws, ctx, name, grants, SNS_SID, "sns.amazonaws.com", topic).await?;
    let existing = if created {
        None
    } else {
        subscriptions(&sns, ctx, topic, function_arn)
            .await?
            .into_iter()
            .next()
    };
    let subscription = match existing {
        Some(s) => s,
        None => {
            ctx.change(
                format!("sns subscription to {topic}"),
                "create",
                format!("→ {name}"),
            );
            if ctx.write("sns:Subscribe") {
                sns.subscribe()
                    .topic_arn(topic)
                    .protocol("lambda")
                    .endpoint(function_arn)
                    .return_subscription_arn(true)
                    .send()
                    .await
                    .map_err(aws_err("sns:Subscribe"))?
                    .subscription_arn()
                    .unwrap_or("pending confirmation")
                    .to_owned()
            } else {
                "(new)".to_owned()
            }
        }
    };
    Ok(vec![
        format!("sns topic {topic}"),
        format!("subscription {subscription}"),
    ])
}

/// The ARNs of the `lambda` subscriptions of `topic` delivering to the
/// function (none when the topic is gone).
async fn subscriptions(
    sns: &aws_sdk_sns::Client,
    ctx: &mut Ctx,
    topic: &str,
    function_arn: &str,
) -> Result<Vec<String>, DeployError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        ctx.read("sns:ListSubscriptionsByTopic");
        let page = match sns
            .list_subscriptions_by_topic()
            .topic_arn(topic)
            .set_next_token(token.take())
            .send()
            .await
        {
            Ok(p) => p,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_not_found_exception()) =>
            {
                break;
            }
            Err(e) => return Err(aws_err("sns:ListSubscriptionsByTopic")(e)),
        };
        out.extend(
            page.subscriptions()
                .iter()
                .filter(|s| s.protocol() == Some("lambda") && s.endpoint() == Some(function_arn))
                .filter_map(|s| s.subscription_arn().map(str::to_owned)),
        );
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => break,
        }
    }
    Ok(out)
}

/// Removes the function's subscriptions to `topic`.
async fn unsubscribe(
    aws: &Aws,
    ctx: &mut Ctx,
    function_arn: &str,
    topic: &str,
) -> Result<(), DeployError> {
    let sns = sns_for(aws, topic);
    for s in subscriptions(&sns, ctx, topic, function_arn).await? {
        ctx.change(format!("sns subscription {s}"), "delete", "");
        if ctx.write("sns:Unsubscribe") {
            match sns.unsubscribe().subscription_arn(&s).send().await {
                Ok(_) => {}
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_not_found_exception()) => {}
                Err(e) => return Err(aws_err("sns:Unsubscribe")(e)),
            }
        }
    }
    Ok(())
}

/// Deletes `topic` when deploy created it for this app (tagged) and no
/// trigger of the app uses it any more.
async fn delete_topic_if_ours(
    aws: &Aws,
    ctx: &mut Ctx,
    cfg: &Config,
    topic: &str,
    keep: &BTreeSet<String>,
) -> Result<(), DeployError> {
    if keep.contains(topic) {
        return Ok(());
    }
    let sns = sns_for(aws, topic);
    ctx.read("sns:ListTagsForResource");
    let tags = match sns
        .list_tags_for_resource()
        .resource_arn(topic)
        .send()
        .await
    {
        Ok(t) => t,
        Err(e) if not_found(&e) => return Ok(()),
        Err(e) => return Err(aws_err("sns:ListTagsForResource")(e)),
    };
    if !tags
        .tags()
        .iter()
        .any(|t| t.key() == TAG && t.value() == cfg.function)
    {
        ctx.step(&format!(
            "  sns topic {topic} is not tagged {TAG}: left alone"
        ));
        return Ok(());
    }
    ctx.change(format!("sns topic {topic}"), "delete", "created by deploy");
    if ctx.write("sns:DeleteTopic") {
        sns.delete_topic()
            .topic_arn(topic)
            .send()
            .await
            .map_err(aws_err("sns:DeleteTopic"))?;
    }
    Ok(())
}

fn events_tag(key: &str, value: &str) -> Result<aws_sdk_eventbridge::types::Tag, DeployError> {
    aws_sdk_eventbridge::types::Tag::builder()
        .key(key)
        .value(value)
        .build()
        .map_err(|e| other(e.to_string()))
}

/// Whether the target's input (JSON text) says the same as `wanted`.
fn same_input(now: Option<&str>, wanted: Option<&Value>) -> bool {
    match (now, wanted) {
        (None, None) => true,
        (Some(text), Some(w)) => serde_json::from_str::<Value>(text).is_ok_and(|v| v == *w),
        _ => false,
    }
}

async fn ensure_schedule(
    aws: &Aws,
    ctx: &mut Ctx,
    cfg: &Config,
    t: &TriggerEntry,
    rule: &str,
    function_arn: &str,
    grants: &mut Vec<Grant>,
) -> Result<Vec<String>, DeployError> {
    use aws_sdk_eventbridge::types::RuleState;
    let marker = description(&cfg.function, &t.handler);
    ctx.read("events:DescribeRule");
    let existing = match aws.events.describe_rule().name(rule).send().await {
        Ok(r) => Some(r),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            None
        }
        Err(e) => return Err(aws_err("events:DescribeRule")(e)),
    };
    if let Some(r) = &existing
        && r.description() != Some(marker.as_str())
    {
        return Err(other(format!(
            "the EventBridge rule {rule} exists and was not made by cargo-lambada for trigger `{}` (its description differs): rename the handler or delete that rule",
            t.handler
        )));
    }
    let placeholder = format!(
        "arn:{}:events:{}:{}:rule/{rule}",
        arn_part(function_arn, 1),
        aws.region,
        arn_part(function_arn, 4)
    );
    let arn_now = existing.as_ref().and_then(|r| r.arn()).map(str::to_owned);
    let current = existing.as_ref().is_some_and(|r| {
        r.schedule_expression() == Some(t.source.as_str()) && r.state() == Some(&RuleState::Enabled)
    });
    let rule_arn = if current {
        arn_now.unwrap_or(placeholder)
    } else {
        ctx.change(
            format!("eventbridge rule {rule}"),
            if existing.is_some() {
                "update"
            } else {
                "create"
            },
            t.source.clone(),
        );
        if ctx.write("events:PutRule") {
            aws.events
                .put_rule()
                .name(rule)
                .schedule_expression(&t.source)
                .state(RuleState::Enabled)
                .description(&marker)
                .tags(events_tag(TAG, &cfg.function)?)
                .tags(events_tag(TRIGGER_TAG, &t.handler)?)
                .send()
                .await
                .map_err(aws_err("events:PutRule"))?
                .rule_arn()
                .map(str::to_owned)
                .unwrap_or(placeholder)
        } else {
            arn_now.unwrap_or(placeholder)
        }
    };
    let target_current = if existing.is_some() {
        ctx.read("events:ListTargetsByRule");
        let targets = aws
            .events
            .list_targets_by_rule()
            .rule(rule)
            .send()
            .await
            .map_err(aws_err("events:ListTargetsByRule"))?;
        targets.targets().iter().any(|x| {
            x.id() == TARGET_ID
                && x.arn() == function_arn
                && same_input(x.input(), t.input.as_ref())
        })
    } else {
        false
    };
    let input = t.input.as_ref().map(Value::to_string);
    if !target_current {
        ctx.change(
            format!("eventbridge target {rule}/{TARGET_ID}"),
            "put",
            match &input {
                Some(i) => format!("→ {rule}, input {i}"),
                None => format!("→ {rule}"),
            },
        );
        if ctx.write("events:PutTargets") {
            let target = aws_sdk_eventbridge::types::Target::builder()
                .id(TARGET_ID)
                .arn(function_arn)
                .set_input(input.clone())
                .build()
                .map_err(|e| other(e.to_string()))?;
            let out = aws
                .events
                .put_targets()
                .rule(rule)
                .targets(target)
                .send()
                .await
                .map_err(aws_err("events:PutTargets"))?;
            if out.failed_entry_count() > 0 {
                let why: Vec<String> = out
                    .failed_entries()
                    .iter()
                    .map(|f| {
                        format!(
                            "{}: {}",
                            f.error_code().unwrap_or("?"),
                            f.error_message().unwrap_or("")
                        )
                    })
                    .collect();
                return Err(other(format!(
                    "events:PutTargets refused the target of rule {rule}: {}",
                    why.join("; ")
                )));
            }
        }
    }
    ensure_grant(
        aws,
        ctx,
        rule,
        grants,
        EVENTS_SID,
        "events.amazonaws.com",
        &rule_arn,
    )
    .await?;
    let mut wiring = vec![format!("eventbridge rule {rule_arn} ({})", t.source)];
    if let Some(i) = input {
        wiring.push(format!("input {i}"));
    }
    Ok(wiring)
}

/// Deletes the rule named `rule` when it is tagged for this app: its
/// targets first, then the rule.
async fn delete_rule(
    aws: &Aws,
    ctx: &mut Ctx,
    cfg: &Config,
    rule: &str,
) -> Result<(), DeployError> {
    ctx.read("events:DescribeRule");
    let arn = match aws.events.describe_rule().name(rule).send().await {
        Ok(r) => r.arn().unwrap_or_default().to_owned(),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            return Ok(());
        }
        Err(e) => return Err(aws_err("events:DescribeRule")(e)),
    };
    ctx.read("events:ListTagsForResource");
    let tags = aws
        .events
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .map_err(aws_err("events:ListTagsForResource"))?;
    if !tags
        .tags()
        .iter()
        .any(|t| t.key() == TAG && t.value() == cfg.function)
    {
        ctx.step(&format!(
            "  eventbridge rule {rule} is not tagged {TAG}: left alone"
        ));
        return Ok(());
    }
    ctx.read("events:ListTargetsByRule");
    let targets = aws
        .events
        .list_targets_by_rule()
        .rule(rule)
        .send()
        .await
        .map_err(aws_err("events:ListTargetsByRule"))?;
    let ids: Vec<String> = targets
        .targets()
        .iter()
        .map(|t| t.id().to_owned())
        .collect();
    if !ids.is_empty() {
        ctx.change(
            format!("eventbridge targets of {rule}"),
            "delete",
            ids.join(", "),
        );
        if ctx.write("events:RemoveTargets") {
            aws.events
                .remove_targets()
                .rule(rule)
                .set_ids(Some(ids))
                .send()
                .await
                .map_err(aws_err("events:RemoveTargets"))?;
        }
    }
    ctx.change(format!("eventbridge rule {rule}"), "delete", "");
    if ctx.write("events:DeleteRule") {
        aws.events
            .delete_rule()
            .name(rule)
            .send()
            .await
            .map_err(aws_err("events:DeleteRule"))?;
    }
    Ok(())
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

// ---------------------------------------------------------------------------
// Finding and deleting trigger functions.

/// A trigger function found in the account.
#[derive(Debug, Clone)]
struct Found {
    name: String,
    arn: String,
    handler: String,
}

/// The trigger functions of this app, found by their description.
async fn list_functions(aws: &Aws, ctx: &mut Ctx, cfg: &Config) -> Result<Vec<Found>, DeployError> {
    let prefix = description(&cfg.function, "");
    let mut out = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        ctx.read("lambda:ListFunctions");
        let page = aws
            .lambda
            .list_functions()
            .set_marker(marker.take())
            .send()
            .await
            .map_err(aws_err("lambda:ListFunctions"))?;
        for f in page.functions() {
            if let Some(handler) = f.description().and_then(|d| d.strip_prefix(&prefix)) {
                out.push(Found {
                    name: f.function_name().unwrap_or_default().to_owned(),
                    arn: f.function_arn().unwrap_or_default().to_owned(),
                    handler: handler.to_owned(),
                });
            }
        }
        match page.next_marker() {
            Some(m) if !m.is_empty() => marker = Some(m.to_owned()),
            _ => break,
        }
    }
    Ok(out)
}

/// Unwires a trigger function (subscription, rule, mappings; the topic when
/// deploy created it and no current trigger uses it) and deletes it, when
/// its tags confirm it belongs to this app.
async fn delete_function(
    aws: &Aws,
    ctx: &mut Ctx,
    cfg: &Config,
    f: &Found,
    keep_topics: &BTreeSet<String>,
) -> Result<(), DeployError> {
    ctx.read("lambda:ListTags");
    let tags = match aws.lambda.list_tags().resource(&f.arn).send().await {
        Ok(t) => t,
        Err(e) if not_found(&e) => return Ok(()),
        Err(e) => return Err(aws_err("lambda:ListTags")(e)),
    };
    let ours = tags
        .tags()
        .is_some_and(|t| t.get(TAG) == Some(&cfg.function) && t.contains_key(TRIGGER_TAG));
    if !ours {
        eprintln!(
            "  function {} is not tagged {TAG}={} and {TRIGGER_TAG}: left alone",
            f.name, cfg.function
        );
        return Ok(());
    }
    for g in read_grants(aws, ctx, &f.name).await? {
        if g.sid == SNS_SID {
            unsubscribe(aws, ctx, &f.arn, &g.source_arn).await?;
            delete_topic_if_ours(aws, ctx, cfg, &g.source_arn, keep_topics).await?;
        } else if g.sid == EVENTS_SID {
            delete_rule(aws, ctx, cfg, &f.name).await?;
        }
    }
    for m in list_mappings(aws, ctx, &f.name).await? {
        delete_mapping(aws, ctx, &m).await?;
    }
    ctx.change(
        format!("function {}", f.name),
        "delete",
        format!("trigger `{}`", f.handler),
    );
    if ctx.write("lambda:DeleteFunction") {
        match aws
            .lambda
            .delete_function()
            .function_name(&f.name)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if not_found(&e) => {}
            Err(e) => return Err(aws_err("lambda:DeleteFunction")(e)),
        }
    }
    Ok(())
}

/// `remove`: unwires and deletes every trigger function of the app, and
/// the topics deploy created for them.
pub(super) async fn remove(aws: &Aws, ctx: &mut Ctx, cfg: &Config) -> Result<(), DeployError> {
    for f in list_functions(aws, ctx, cfg).await? {
        ctx.step(&format!("trigger `{}`: {}", f.handler, f.name));
        delete_function(aws, ctx, cfg, &f, &BTreeSet::new()).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_are_read_from_the_policy_document() {
        let policy = r#"{"Version":"2012-10-17","Statement":[
            {"Sid":"lambada-sns","Effect":"Allow","Principal":{"Service":"sns.amazonaws.com"},
             "Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:us-east-1:1:function:f",
             "Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:sns:us-east-1:1:t"}}},
            {"Sid":"other","Effect":"Allow"}]}"#;
        let g = parse_grants(policy);
        assert_eq!(g.len(), 2);
        assert_eq!(
            (g[0].sid.as_str(), g[0].source_arn.as_str()),
            ("lambada-sns", "arn:aws:sns:us-east-1:1:t")
        );
        assert_eq!(g[1].source_arn, "");
        assert!(parse_grants("not json").is_empty());
    }

    #[test]
    fn inputs_compare_as_json() {
        let v = json!({"Domain": "example.com", "n": 1});
        assert!(same_input(
            Some(r#"{ "n": 1, "Domain": "example.com" }"#),
            Some(&v)
        ));
        assert!(!same_input(None, Some(&v)));
        assert!(!same_input(Some("{}"), None));
        assert!(same_input(None, None));
    }

    #[test]
    fn role_statements_name_exactly_the_sources() {
        let t = |kind, handler: &str| TriggerEntry {
            kind,
            handler: handler.into(),
            module: String::new(),
            event: String::new(),
            source: "x".into(),
            batch_size: None,
            batch_window: None,
            starting_position: None,
            input: None,
            timeout: None,
            memory: None,
            concurrency: None,
            authorizer: None,
        };
        let triggers = [
            t(TriggerKind::Sqs, "a"),
            t(TriggerKind::Sns, "b"),
            t(TriggerKind::Sqs, "c"),
            t(TriggerKind::DynamoDbStream, "d"),
        ];
        let sources = [
            Some("arn:aws:sqs:us-east-1:1:q1".to_owned()),
            None,
            Some("arn:aws:sqs:us-east-1:1:q2".to_owned()),
            Some("arn:aws:dynamodb:us-east-1:1:table/t/stream/s".to_owned()),
        ];
        let s = role_statements(&triggers, &sources);
        assert_eq!(s.len(), 2);
        assert_eq!(
            s[0]["Resource"],
            json!(["arn:aws:sqs:us-east-1:1:q1", "arn:aws:sqs:us-east-1:1:q2"])
        );
        assert!(s[1]["Action"].to_string().contains("dynamodb:GetRecords"));
        assert!(describe_statements(&s).contains("sqs:ReceiveMessage"));
        let (arn, by_name) = topic_arn(
            &t(TriggerKind::Sns, "b"),
            "eu-west-1",
            "arn:aws:lambda:eu-west-1:123:function:f",
        );
        assert_eq!(
            (arn.as_str(), by_name),
            ("arn:aws:sns:eu-west-1:123:x", true)
        );
    }
}
