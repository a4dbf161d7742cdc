//! `#[sns]`: the topic (created when named and missing), the permission
//! `lambada-sns`, the subscription.

use std::collections::BTreeSet;

use serde_json::json;

use super::{Grant, Site, Wire, Wiring, arn_part, ensure_grant, not_found, other};
use crate::config::Config;
use crate::deploy::{Aws, Ctx, DeployError, TAG, aws_err};
use crate::manifest::TriggerEntry;
use crate::package::{Template, logical_id};

/// The statement id of the permission for the SNS topic.
const SID: &str = "lambada-sns";

pub(super) struct Sns;

impl Wiring for Sns {
    const SID: Option<&'static str> = Some(SID);

    fn shared(t: &TriggerEntry, region: &str, function_arn: &str) -> Option<String> {
        Some(topic_arn(t, region, function_arn).0)
    }

    fn current(w: &Wire<'_>, g: &Grant) -> bool {
        topic_arn(w.t, &w.site.aws.region, w.site.function_arn).0 == g.source_arn
    }

    async fn unwire(site: &Site<'_>, ctx: &mut Ctx, g: &Grant) -> Result<(), DeployError> {
        unsubscribe(site.aws, ctx, site.function_arn, &g.source_arn).await?;
        delete_topic_if_ours(site.aws, ctx, site.cfg, &g.source_arn, site.keep).await
    }

    /// The topic when named (created by the stack), the permission, the
    /// subscription.
    fn template(tpl: &mut Template<'_>) {
        let t = tpl.t;
        let topic = if t.source.starts_with("arn:") {
            json!(t.source)
        } else {
            let topic_id = logical_id("Topic", &t.source, "");
            let resource = json!({
                "Type": "AWS::SNS::Topic",
                "Properties": {
                    "TopicName": t.source,
                    "Tags": [{"Key": "lambada:function", "Value": tpl.cfg.function}]
                }
            });
            // Triggers on one topic share it.
            tpl.resources.entry(topic_id.clone()).or_insert(resource);
            json!({"Ref": topic_id})
        };
        tpl.permission("sns.amazonaws.com", topic.clone());
        let subscription = json!({
            "Type": "AWS::SNS::Subscription",
            "Properties": {"Protocol": "lambda", "Endpoint": tpl.function_arn(), "TopicArn": topic}
        });
        tpl.insert("Subscription", subscription);
    }

    async fn wire(
        w: &Wire<'_>,
        ctx: &mut Ctx,
        grants: &mut Vec<Grant>,
    ) -> Result<(Option<String>, Vec<String>), DeployError> {
        let s = &w.site;
        let (arn, by_name) = topic_arn(w.t, &s.aws.region, s.function_arn);
        let lines = ensure_sns(
            s.aws,
            ctx,
            s.cfg,
            w.t,
            s.name,
            s.function_arn,
            &arn,
            by_name,
            grants,
        )
        .await?;
        Ok((Some(arn), lines))
    }
}

/// The ARN of a trigger's SNS topic, and whether it was named (so deploy
/// may create it) rather than given by ARN.
pub(super) fn topic_arn(t: &TriggerEntry, region: &str, function_arn: &str) -> (String, bool) {
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
    ensure_grant(
        aws,
        ctx,
        name,
        grants,
        SID,
        "sns.amazonaws.com",
        topic,
        None,
    )
    .await?;
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
