//! `#[schedule]`: a rule named like the function with the schedule
//! expression, its target (with the constant input), the permission
//! `lambada-events`.

use serde_json::{Value, json};

use super::eventbridge::delete_rule;
use super::{
    Grant, Site, TARGET_ID, TRIGGER_TAG, Wire, Wiring, arn_part, description, ensure_grant, other,
};
use crate::config::Config;
use crate::deploy::{Aws, Ctx, DeployError, TAG, aws_err};
use crate::manifest::TriggerEntry;
use crate::package::Template;

/// The statement id of the permission for the EventBridge rule.
const SID: &str = "lambada-events";

pub(super) struct Schedule;

impl Wiring for Schedule {
    const SID: Option<&'static str> = Some(SID);

    async fn unwire(site: &Site<'_>, ctx: &mut Ctx, _g: &Grant) -> Result<(), DeployError> {
        delete_rule(site.aws, ctx, site.cfg, site.name, None).await
    }

    /// The rule with its target (and input), and the permission.
    fn template(tpl: &mut Template<'_>) {
        let mut target = json!({"Id": TARGET_ID, "Arn": tpl.function_arn()});
        if let Some(input) = &tpl.t.input {
            target["Input"] = json!(input.to_string());
        }
        let rule = json!({
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Name": tpl.name,
                "ScheduleExpression": tpl.t.source,
                "State": "ENABLED",
                "Targets": [target],
                "Tags": tpl.tags()
            }
        });
        tpl.insert("Rule", rule);
        let rule_arn = json!({"Fn::GetAtt": [format!("{}Rule", tpl.id), "Arn"]});
        tpl.permission("events.amazonaws.com", rule_arn);
    }

    async fn wire(
        w: &Wire<'_>,
        ctx: &mut Ctx,
        grants: &mut Vec<Grant>,
    ) -> Result<(Option<String>, Vec<String>), DeployError> {
        let s = &w.site;
        let lines = ensure_schedule(s.aws, ctx, s.cfg, w.t, s.name, s.function_arn, grants).await?;
        Ok((Some(w.t.source.clone()), lines))
    }
}

pub(super) fn events_tag(
    key: &str,
    value: &str,
) -> Result<aws_sdk_eventbridge::types::Tag, DeployError> {
    aws_sdk_eventbridge::types::Tag::builder()
        .key(key)
        .value(value)
        .build()
        .map_err(|e| other(e.to_string()))
}

/// Whether the target's input (JSON text) says the same as `wanted`.
pub(super) fn same_input(now: Option<&str>, wanted: Option<&Value>) -> bool {
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
        SID,
        "events.amazonaws.com",
        &rule_arn,
        None,
    )
    .await?;
    let mut wiring = vec![format!("eventbridge rule {rule_arn} ({})", t.source)];
    if let Some(i) = input {
        wiring.push(format!("input {i}"));
    }
    Ok(wiring)
}
