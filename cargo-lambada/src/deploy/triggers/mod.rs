//! Triggers: what `deploy`, `remove` and `package` do for each non-HTTP
//! trigger.
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
//! - s3: `GetBucketNotificationConfiguration`, `AddPermission`
//!   (`lambada-s3`, from the bucket and its account), then
//!   `PutBucketNotificationConfiguration` with the bucket's other
//!   notifications kept, only when ours is missing or differs.
//! - event_pattern: `DescribeRule` / `PutRule` on the bus (the rule is
//!   named like the function, with the event pattern),
//!   `ListTargetsByRule` / `PutTargets`, `AddPermission` (`lambada-rule`).
//! - invoke: nothing to wire.
//!
//! Each kind is one module (`sns.rs`, `s3.rs`, …) implementing [`Wiring`],
//! which also writes the kind's resources into `package`'s template; the
//! [`registry!`] line maps its `TriggerKind` to it.
//!
//! The function's policy (`GetPolicy`) and its mappings are the state: the
//! wiring of another source (the trigger changed its topic, queue or kind)
//! is undone. Trigger functions are found by their description and
//! confirmed by their tags; those no longer in the app are unwired and
//! deleted, with the topics and rules deploy created for them.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_lambda::types::EventSourceMappingConfiguration;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::door::gone;
use super::{Aws, Ctx, DeployError, MARKER, TAG, add_permission, aws_err};
use crate::config::Config;
use crate::manifest::{TriggerEntry, TriggerKind};
use crate::package::Template;

mod authorizer;
mod dynamodb;
mod eventbridge;
mod invoke;
mod kinesis;
mod mapping;
mod s3;
mod schedule;
mod sns;
mod sqs;

/// What a function's trigger is wired with, as a kind's [`Wiring`] sees
/// it.
pub(super) struct Site<'a> {
    aws: &'a Aws,
    cfg: &'a Config,
    /// The trigger function's name.
    name: &'a str,
    /// Its ARN.
    function_arn: &'a str,
    /// Resources the app's current triggers use (SNS topics), which
    /// unwiring must not delete.
    keep: &'a BTreeSet<String>,
}

/// A trigger being wired: its site, entry and what was read.
pub(super) struct Wire<'a> {
    site: Site<'a>,
    t: &'a TriggerEntry,
    /// The polled source's ARN, from [`resolve_sources`].
    source: Option<&'a str>,
    /// The function's event-source mappings.
    mappings: &'a [EventSourceMappingConfiguration],
    /// The REST API, for authorizers.
    api_id: Option<&'a str>,
}

/// One kind of trigger as `deploy`, `remove` and `package` see it: how its
/// source is read, wired and unwired, and what wires it in a template. The function's permission statement `SID` is
/// the kind's record of what it wired, so a trigger that changes kind or
/// source, or disappears, is unwired by the kind that wired it.
pub(super) trait Wiring {
    /// The statement id of the function permission this kind adds (none
    /// for the polled kinds, whose state is the event-source mapping).
    const SID: Option<&'static str> = None;

    /// The source's ARN for the polled kinds, read before the role is
    /// written (a missing source is an error that says so).
    async fn resolve(
        _aws: &Aws,
        _ctx: &mut Ctx,
        _t: &TriggerEntry,
    ) -> Result<Option<String>, DeployError> {
        Ok(None)
    }

    /// A resource of the trigger's that other triggers may share and
    /// unwiring must keep while one uses it (an SNS topic's ARN).
    fn shared(_t: &TriggerEntry, _region: &str, _function_arn: &str) -> Option<String> {
        None
    }

    /// Whether the permission `g` (of [`Self::SID`]) still fits `w`'s
    /// trigger, of this kind; when it does not, [`Self::unwire`] runs and
    /// the permission is removed before wiring.
    fn current(_w: &Wire<'_>, _g: &Grant) -> bool {
        true
    }

    /// Undoes what the permission `g` stands for (a subscription, a rule,
    /// a bucket notification): for a trigger that moved away from it, or
    /// whose function is deleted.
    async fn unwire(_site: &Site<'_>, _ctx: &mut Ctx, _g: &Grant) -> Result<(), DeployError> {
        Ok(())
    }

    /// A polled source's ARN as a template value (a parameter added when
    /// only the account knows it).
    fn template_source(_t: &TriggerEntry, _parameters: &mut Map<String, Value>) -> Option<Value> {
        None
    }

    /// The resources that wire the trigger in `package`'s template, beside
    /// its function.
    fn template(_tpl: &mut Template<'_>) {}

    /// Wires the trigger: its source for the report and the wiring, one
    /// line each.
    async fn wire(
        w: &Wire<'_>,
        ctx: &mut Ctx,
        grants: &mut Vec<Grant>,
    ) -> Result<(Option<String>, Vec<String>), DeployError>;
}

/// The registry: each `TriggerKind` and the module that wires it. Adding
/// a kind is adding its module and one line here.
macro_rules! registry {
    ($($kind:ident => $wiring:ty,)*) => {
        async fn resolve(aws: &Aws, ctx: &mut Ctx, t: &TriggerEntry) -> Result<Option<String>, DeployError> {
            match t.kind {
                $(TriggerKind::$kind => <$wiring>::resolve(aws, ctx, t).await,)*
            }
        }
        fn shared(t: &TriggerEntry, region: &str, function_arn: &str) -> Option<String> {
            match t.kind {
                $(TriggerKind::$kind => <$wiring>::shared(t, region, function_arn),)*
            }
        }
        /// The kind whose permission statement is `sid`.
        fn owner(sid: &str) -> Option<TriggerKind> {
            $(if <$wiring>::SID == Some(sid) {
                return Some(TriggerKind::$kind);
            })*
            None
        }
        fn current(kind: TriggerKind, w: &Wire<'_>, g: &Grant) -> bool {
            match kind {
                $(TriggerKind::$kind => <$wiring>::current(w, g),)*
            }
        }
        async fn unwire(kind: TriggerKind, site: &Site<'_>, ctx: &mut Ctx, g: &Grant) -> Result<(), DeployError> {
            match kind {
                $(TriggerKind::$kind => <$wiring>::unwire(site, ctx, g).await,)*
            }
        }
        async fn wire_kind(w: &Wire<'_>, ctx: &mut Ctx, grants: &mut Vec<Grant>) -> Result<(Option<String>, Vec<String>), DeployError> {
            match w.t.kind {
                $(TriggerKind::$kind => <$wiring>::wire(w, ctx, grants).await,)*
            }
        }
        /// A polled trigger's source in `package`'s template.
        pub(crate) fn template_source(t: &TriggerEntry, parameters: &mut Map<String, Value>) -> Option<Value> {
            match t.kind {
                $(TriggerKind::$kind => <$wiring>::template_source(t, parameters),)*
            }
        }
        /// What wires a trigger in `package`'s template.
        pub(crate) fn template(tpl: &mut Template<'_>) {
            match tpl.t.kind {
                $(TriggerKind::$kind => <$wiring>::template(tpl),)*
            }
        }
    };
}

registry! {
    Sns => sns::Sns,
    Sqs => sqs::Sqs,
    Kinesis => kinesis::Kinesis,
    DynamoDbStream => dynamodb::DynamoDbStream,
    Schedule => schedule::Schedule,
    Invoke => invoke::Invoke,
    Authorizer => authorizer::Authorizer,
    S3 => s3::S3,
    EventBridge => eventbridge::EventBridge,
}

/// The tag naming the handler a trigger function runs.
pub(super) const TRIGGER_TAG: &str = "lambada:trigger";
/// The id of an EventBridge rule's target.
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
        out.push(resolve(aws, ctx, t).await?);
    }
    Ok(out)
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
pub(super) struct Grant {
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
#[allow(clippy::too_many_arguments)]
async fn ensure_grant(
    aws: &Aws,
    ctx: &mut Ctx,
    name: &str,
    grants: &mut Vec<Grant>,
    sid: &str,
    principal: &str,
    source_arn: &str,
    source_account: Option<&str>,
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
        add_permission(
            aws.lambda
                .add_permission()
                .function_name(name)
                .statement_id(sid)
                .action("lambda:InvokeFunction")
                .principal(principal)
                .source_arn(source_arn)
                .set_source_account(source_account.map(str::to_owned)),
        )
        .await?;
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
        gone(
            aws.lambda
                .remove_permission()
                .function_name(name)
                .statement_id(sid)
                .send()
                .await,
            "lambda:RemovePermission",
        )?;
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
        gone(
            aws.lambda
                .delete_event_source_mapping()
                .uuid(uuid)
                .send()
                .await,
            "lambda:DeleteEventSourceMapping",
        )?;
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
    let keep: BTreeSet<String> = triggers
        .iter()
        .zip(functions)
        .filter_map(|(t, (arn, _))| shared(t, &aws.region, arn))
        .collect();
    let mut reports = Vec::with_capacity(triggers.len());
    for ((t, (arn, fresh)), source) in triggers.iter().zip(functions).zip(sources) {
        let name = t.function_name(&cfg.function);
        let site = Site {
            aws,
            cfg,
            name: &name,
            function_arn: arn,
            keep: &keep,
        };
        reports.push(wire(ctx, site, t, *fresh, source.as_deref(), api_id).await?);
    }
    let names: BTreeSet<String> = triggers
        .iter()
        .map(|t| t.function_name(&cfg.function))
        .collect();
    for f in list_functions(aws, ctx, cfg).await? {
        if !names.contains(&f.name) {
            ctx.step(&format!(
                "trigger `{}` is no longer in the app: unwiring and deleting {}",
                f.handler, f.name
            ));
            delete_function(aws, ctx, cfg, &f, &keep).await?;
        }
    }
    Ok(reports)
}

async fn wire(
    ctx: &mut Ctx,
    site: Site<'_>,
    t: &TriggerEntry,
    fresh: bool,
    source: Option<&str>,
    api_id: Option<&str>,
) -> Result<TriggerReport, DeployError> {
    let (aws, name) = (site.aws, site.name);
    ctx.step(&format!("trigger: {} ({}) → {name}", t.handler, t.kind));
    let (mut grants, mappings) = if fresh {
        (Vec::new(), Vec::new())
    } else {
        (
            read_grants(aws, ctx, name).await?,
            list_mappings(aws, ctx, name).await?,
        )
    };
    let w = Wire {
        site,
        t,
        source,
        mappings: &mappings,
        api_id,
    };
    // Undo the wiring of another source (the trigger changed its source or
    // its kind).
    for g in grants.clone() {
        let Some(kind) = owner(&g.sid) else {
            continue;
        };
        if kind != t.kind || !current(kind, &w, &g) {
            unwire(kind, &w.site, ctx, &g).await?;
            remove_grant(aws, ctx, name, &g.sid).await?;
            grants.retain(|x| x.sid != g.sid);
        }
    }
    for m in &mappings {
        if m.event_source_arn() != source {
            delete_mapping(aws, ctx, m).await?;
        }
    }
    let (source, wiring) = wire_kind(&w, ctx, &mut grants).await?;
    Ok(TriggerReport {
        handler: t.handler.clone(),
        kind: t.kind,
        function: name.to_owned(),
        function_arn: w.site.function_arn.to_owned(),
        source,
        wiring,
    })
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
    let site = Site {
        aws,
        cfg,
        name: &f.name,
        function_arn: &f.arn,
        keep: keep_topics,
    };
    for g in read_grants(aws, ctx, &f.name).await? {
        if let Some(kind) = owner(&g.sid) {
            unwire(kind, &site, ctx, &g).await?;
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
        gone(
            aws.lambda
                .delete_function()
                .function_name(&f.name)
                .send()
                .await,
            "lambda:DeleteFunction",
        )?;
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
    use super::schedule::same_input;
    use super::sns::topic_arn;
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
            kind_settings: None,
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
