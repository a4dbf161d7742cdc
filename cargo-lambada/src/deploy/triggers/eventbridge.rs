//! `#[event_pattern]`: a rule named like the function on the trigger's
//! bus, with the event pattern; its target `lambada` (the function); the
//! permission `lambada-rule`, scoped to the rule. Also the rule deletion
//! `#[schedule]` shares.

use serde_json::{Value, json};

use super::schedule::events_tag;
use super::{
    Grant, Site, TARGET_ID, TRIGGER_TAG, Wire, Wiring, arn_part, description, ensure_grant, other,
};
use crate::config::Config;
use crate::deploy::{Aws, Ctx, DeployError, TAG, aws_err};
use crate::package::Template;

/// The statement id of the permission for the rule.
const SID: &str = "lambada-rule";

pub(super) struct EventBridge;

/// The bus of a trigger (`default` when the manifest has none).
fn bus(source: &str) -> &str {
    if source.is_empty() { "default" } else { source }
}

/// The ARN of the rule `rule` on `bus`.
fn rule_arn(region: &str, function_arn: &str, bus: &str, rule: &str) -> String {
    let path = if bus == "default" {
        rule.to_owned()
    } else {
        format!("{bus}/{rule}")
    };
    format!(
        "arn:{}:events:{region}:{}:rule/{path}",
        arn_part(function_arn, 1),
        arn_part(function_arn, 4)
    )
}

/// The bus a rule ARN names (`None`: the default bus).
fn bus_of(rule_arn: &str) -> Option<&str> {
    let path = rule_arn.split_once(":rule/")?.1;
    path.rsplit_once('/').map(|(bus, _)| bus)
}

impl Wiring for EventBridge {
    const SID: Option<&'static str> = Some(SID);

    fn current(w: &Wire<'_>, g: &Grant) -> bool {
        let s = &w.site;
        g.source_arn == rule_arn(&s.aws.region, s.function_arn, bus(&w.t.source), s.name)
    }

    async fn unwire(site: &Site<'_>, ctx: &mut Ctx, g: &Grant) -> Result<(), DeployError> {
        delete_rule(site.aws, ctx, site.cfg, site.name, bus_of(&g.source_arn)).await
    }

    /// The rule on its bus with the pattern and target, and the
    /// permission.
    fn template(tpl: &mut Template<'_>) {
        let pattern = tpl
            .t
            .kind_settings
            .as_ref()
            .and_then(|k| k.get("pattern"))
            .cloned()
            .unwrap_or_default();
        let rule = json!({
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Name": tpl.name,
                "EventBusName": bus(&tpl.t.source),
                "EventPattern": pattern,
                "State": "ENABLED",
                "Targets": [{"Id": TARGET_ID, "Arn": tpl.function_arn()}],
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
        use aws_sdk_eventbridge::types::RuleState;
        let (s, t) = (&w.site, w.t);
        let (aws, rule, function_arn) = (s.aws, s.name, s.function_arn);
        let bus = bus(&t.source);
        let pattern = t
            .kind_settings
            .as_ref()
            .and_then(|k| k.get("pattern"))
            .filter(|p| p.as_object().is_some_and(|o| !o.is_empty()))
            .cloned()
            .ok_or_else(|| {
                other(format!(
                    "trigger `{}`: the manifest has no event pattern (rebuild with this cargo-lambada's lambada-runtime)",
                    t.handler
                ))
            })?;
        let marker = description(&s.cfg.function, &t.handler);
        ctx.read("events:DescribeRule");
        let existing = match aws
            .events
            .describe_rule()
            .name(rule)
            .event_bus_name(bus)
            .send()
            .await
        {
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
                "the EventBridge rule {rule} on bus {bus} exists and was not made by cargo-lambada for trigger `{}` (its description differs): rename the handler or delete that rule",
                t.handler
            )));
        }
        let expected_arn = rule_arn(&aws.region, function_arn, bus, rule);
        let current = existing.as_ref().is_some_and(|r| {
            r.event_pattern()
                .and_then(|p| serde_json::from_str::<Value>(p).ok())
                .is_some_and(|p| p == pattern)
                && r.state() == Some(&RuleState::Enabled)
        });
        let arn = if current {
            existing
                .as_ref()
                .and_then(|r| r.arn())
                .map_or(expected_arn, str::to_owned)
        } else {
            ctx.change(
                format!("eventbridge rule {rule}"),
                if existing.is_some() {
                    "update"
                } else {
                    "create"
                },
                format!("on bus {bus}, pattern {pattern}"),
            );
            if ctx.write("events:PutRule") {
                aws.events
                    .put_rule()
                    .name(rule)
                    .event_bus_name(bus)
                    .event_pattern(pattern.to_string())
                    .state(RuleState::Enabled)
                    .description(&marker)
                    .tags(events_tag(TAG, &s.cfg.function)?)
                    .tags(events_tag(TRIGGER_TAG, &t.handler)?)
                    .send()
                    .await
                    .map_err(|e| {
                        if e.as_service_error()
                            .is_some_and(|s| s.is_resource_not_found_exception())
                        {
                            other(format!(
                                "trigger `{}`: the event bus `{bus}` does not exist: create it first (deploy does not create buses)",
                                t.handler
                            ))
                        } else {
                            aws_err("events:PutRule")(e)
                        }
                    })?
                    .rule_arn()
                    .map_or(expected_arn, str::to_owned)
            } else {
                expected_arn
            }
        };
        let target_current = if existing.is_some() {
            ctx.read("events:ListTargetsByRule");
            let targets = aws
                .events
                .list_targets_by_rule()
                .rule(rule)
                .event_bus_name(bus)
                .send()
                .await
                .map_err(aws_err("events:ListTargetsByRule"))?;
            targets
                .targets()
                .iter()
                .any(|x| x.id() == TARGET_ID && x.arn() == function_arn && x.input().is_none())
        } else {
            false
        };
        if !target_current {
            ctx.change(
                format!("eventbridge target {rule}/{TARGET_ID}"),
                "put",
                format!("→ {rule}"),
            );
            if ctx.write("events:PutTargets") {
                let target = aws_sdk_eventbridge::types::Target::builder()
                    .id(TARGET_ID)
                    .arn(function_arn)
                    .build()
                    .map_err(|e| other(e.to_string()))?;
                let out = aws
                    .events
                    .put_targets()
                    .rule(rule)
                    .event_bus_name(bus)
                    .targets(target)
                    .send()
                    .await
                    .map_err(aws_err("events:PutTargets"))?;
                if out.failed_entry_count() > 0 {
                    return Err(other(format!(
                        "events:PutTargets refused the target of rule {rule}: {:?}",
                        out.failed_entries()
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
            &arn,
            None,
        )
        .await?;
        Ok((
            Some(bus.to_owned()),
            vec![
                format!("eventbridge rule {arn} on bus {bus}"),
                format!("pattern {pattern}"),
            ],
        ))
    }
}

/// Deletes the rule named `rule` on `bus` (the default bus when `None`)
/// when it is tagged for this app: its targets first, then the rule.
pub(super) async fn delete_rule(
    aws: &Aws,
    ctx: &mut Ctx,
    cfg: &Config,
    rule: &str,
    bus: Option<&str>,
) -> Result<(), DeployError> {
    let bus = bus.map(str::to_owned);
    ctx.read("events:DescribeRule");
    let arn = match aws
        .events
        .describe_rule()
        .name(rule)
        .set_event_bus_name(bus.clone())
        .send()
        .await
    {
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
        .set_event_bus_name(bus.clone())
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
                .set_event_bus_name(bus.clone())
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
            .set_event_bus_name(bus.clone())
            .send()
            .await
            .map_err(aws_err("events:DeleteRule"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{bus_of, rule_arn};

    #[test]
    fn rule_arns_name_their_bus() {
        let f = "arn:aws:lambda:eu-west-1:123:function:app-on-order";
        let default = rule_arn("eu-west-1", f, "default", "app-on-order");
        assert_eq!(default, "arn:aws:events:eu-west-1:123:rule/app-on-order");
        assert_eq!(bus_of(&default), None);
        let custom = rule_arn("eu-west-1", f, "orders", "app-on-order");
        assert_eq!(
            custom,
            "arn:aws:events:eu-west-1:123:rule/orders/app-on-order"
        );
        assert_eq!(bus_of(&custom), Some("orders"));
    }
}
