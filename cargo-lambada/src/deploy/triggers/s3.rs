//! `#[s3]`: the permission `lambada-s3` (from the bucket, in the
//! function's account), then the function's entry in the bucket's
//! notification configuration.
//!
//! A bucket has one notification configuration for every consumer, and
//! `PutBucketNotificationConfiguration` replaces it whole: deploy reads it,
//! replaces only its own entry (the `LambdaFunctionConfiguration` with the
//! `Id` `lambada-<function>`), keeps every other queue, topic, function and
//! EventBridge setting, and writes only when its entry is missing or
//! differs. Unwiring takes out only that entry.

use aws_sdk_s3::types::{
    Event, FilterRule, FilterRuleName, LambdaFunctionConfiguration, NotificationConfiguration,
    NotificationConfigurationFilter, S3KeyFilter,
};

use serde_json::{Value, json};

use super::{Grant, Site, Wire, Wiring, arn_part, ensure_grant, other};
use crate::deploy::{Aws, Ctx, DeployError, aws_err};
use crate::manifest::TriggerEntry;
use crate::package::Template;

/// The statement id of the permission for the bucket.
const SID: &str = "lambada-s3";

pub(super) struct S3;

/// What an `#[s3]` trigger asks of its bucket (the manifest's `settings`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct S3Settings {
    /// `s3:ObjectCreated:*`, …
    pub events: Vec<String>,
    /// Only keys that begin with this.
    pub prefix: Option<String>,
    /// Only keys that end with this.
    pub suffix: Option<String>,
}

impl S3Settings {
    /// The settings of `t` (every creation, any key, when it has none).
    pub(super) fn of(t: &TriggerEntry) -> S3Settings {
        let k = t.kind_settings.clone().unwrap_or_default();
        let mut events: Vec<String> = k["events"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e.as_str().map(str::to_owned))
            .collect();
        if events.is_empty() {
            events.push("s3:ObjectCreated:*".into());
        }
        let text = |key: &str| k[key].as_str().filter(|v| !v.is_empty()).map(str::to_owned);
        S3Settings {
            events,
            prefix: text("prefix"),
            suffix: text("suffix"),
        }
    }

    /// The filter rules, `("prefix", value)` / `("suffix", value)`.
    pub(super) fn rules(&self) -> Vec<(&'static str, &str)> {
        let mut out = Vec::new();
        if let Some(p) = &self.prefix {
            out.push(("prefix", p.as_str()));
        }
        if let Some(s) = &self.suffix {
            out.push(("suffix", s.as_str()));
        }
        out
    }
}

/// The `Id` of the function's entry in the bucket's configuration.
pub(super) fn configuration_id(function: &str) -> String {
    format!("lambada-{function}")
}

/// The bucket's ARN, in the function's partition.
fn bucket_arn(function_arn: &str, bucket: &str) -> String {
    let partition = match arn_part(function_arn, 1) {
        "" => "aws",
        p => p,
    };
    format!("arn:{partition}:s3:::{bucket}")
}

fn bucket_of(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or_default()
}

/// Whether the entry `c` asks for exactly `want`.
fn same(c: &LambdaFunctionConfiguration, function_arn: &str, want: &S3Settings) -> bool {
    let mut events: Vec<&str> = c.events().iter().map(Event::as_str).collect();
    events.sort_unstable();
    let mut wanted: Vec<&str> = want.events.iter().map(String::as_str).collect();
    wanted.sort_unstable();
    let mut rules: Vec<(String, &str)> = c
        .filter()
        .and_then(|f| f.key())
        .map(|k| k.filter_rules())
        .unwrap_or_default()
        .iter()
        .map(|r| {
            (
                r.name()
                    .map(|n| n.as_str().to_ascii_lowercase())
                    .unwrap_or_default(),
                r.value().unwrap_or_default(),
            )
        })
        .collect();
    rules.sort();
    let mut wanted_rules: Vec<(String, &str)> = want
        .rules()
        .into_iter()
        .map(|(n, v)| (n.to_owned(), v))
        .collect();
    wanted_rules.sort();
    c.lambda_function_arn() == function_arn && events == wanted && rules == wanted_rules
}

/// The function's entry.
fn entry(
    id: &str,
    function_arn: &str,
    want: &S3Settings,
) -> Result<LambdaFunctionConfiguration, DeployError> {
    let mut b = LambdaFunctionConfiguration::builder()
        .id(id)
        .lambda_function_arn(function_arn)
        .set_events(Some(
            want.events
                .iter()
                .map(|e| Event::from(e.as_str()))
                .collect(),
        ));
    let rules = want.rules();
    if !rules.is_empty() {
        let key = S3KeyFilter::builder()
            .set_filter_rules(Some(
                rules
                    .into_iter()
                    .map(|(n, v)| {
                        FilterRule::builder()
                            .name(FilterRuleName::from(n))
                            .value(v)
                            .build()
                    })
                    .collect(),
            ))
            .build();
        b = b.filter(NotificationConfigurationFilter::builder().key(key).build());
    }
    b.build().map_err(|e| other(e.to_string()))
}

/// The bucket's notification configuration (`None` when the bucket does
/// not exist).
async fn read(
    aws: &Aws,
    ctx: &mut Ctx,
    bucket: &str,
) -> Result<Option<NotificationConfiguration>, DeployError> {
    ctx.read("s3:GetBucketNotificationConfiguration");
    match aws
        .s3
        .get_bucket_notification_configuration()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(o) => Ok(Some(
            NotificationConfiguration::builder()
                .set_topic_configurations(Some(o.topic_configurations().to_vec()))
                .set_queue_configurations(Some(o.queue_configurations().to_vec()))
                .set_lambda_function_configurations(Some(
                    o.lambda_function_configurations().to_vec(),
                ))
                .set_event_bridge_configuration(o.event_bridge_configuration().cloned())
                .build(),
        )),
        Err(e)
            if e.as_service_error()
                .and_then(aws_sdk_s3::error::ProvideErrorMetadata::code)
                == Some("NoSuchBucket") =>
        {
            Ok(None)
        }
        Err(e) => Err(aws_err("s3:GetBucketNotificationConfiguration")(e)),
    }
}

/// Writes `conf` with `lambda` as its function entries, the rest as read.
async fn write(
    aws: &Aws,
    ctx: &mut Ctx,
    bucket: &str,
    conf: &NotificationConfiguration,
    lambda: Vec<LambdaFunctionConfiguration>,
) -> Result<(), DeployError> {
    if !ctx.write("s3:PutBucketNotificationConfiguration") {
        return Ok(());
    }
    let conf = NotificationConfiguration::builder()
        .set_topic_configurations(Some(conf.topic_configurations().to_vec()))
        .set_queue_configurations(Some(conf.queue_configurations().to_vec()))
        .set_lambda_function_configurations(Some(lambda))
        .set_event_bridge_configuration(conf.event_bridge_configuration().cloned())
        .build();
    aws.s3
        .put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(conf)
        .send()
        .await
        .map_err(aws_err("s3:PutBucketNotificationConfiguration"))?;
    Ok(())
}

/// Whether `c` is the function's entry (by its id, or by its target).
fn ours(c: &LambdaFunctionConfiguration, id: &str, function_arn: &str) -> bool {
    c.id() == Some(id) || c.lambda_function_arn() == function_arn
}

impl Wiring for S3 {
    const SID: Option<&'static str> = Some(SID);

    fn current(w: &Wire<'_>, g: &Grant) -> bool {
        g.source_arn == bucket_arn(w.site.function_arn, &w.t.source)
    }

    async fn unwire(site: &Site<'_>, ctx: &mut Ctx, g: &Grant) -> Result<(), DeployError> {
        let bucket = bucket_of(&g.source_arn);
        let Some(conf) = read(site.aws, ctx, bucket).await? else {
            return Ok(());
        };
        let id = configuration_id(site.name);
        let (gone, kept): (Vec<_>, Vec<_>) = conf
            .lambda_function_configurations()
            .iter()
            .cloned()
            .partition(|c| ours(c, &id, site.function_arn));
        if gone.is_empty() {
            return Ok(());
        }
        ctx.change(
            format!("s3 notification {id} of bucket {bucket}"),
            "delete",
            "the bucket's other notifications are kept",
        );
        write(site.aws, ctx, bucket, &conf, kept).await
    }

    /// CloudFormation sets a bucket's notifications only on an
    /// `AWS::S3::Bucket` the same stack creates, and the bucket of a
    /// trigger is not the stack's: the template holds the invoke permission
    /// (scoped to the bucket and the account), and an output with the
    /// notification entry to add to the bucket's configuration, which
    /// `cargo lambada deploy` does (merging with the bucket's other
    /// notifications), as can `aws s3api put-bucket-notification-configuration`.
    fn template(tpl: &mut Template<'_>) {
        let t = tpl.t;
        let want = S3Settings::of(t);
        let permission = json!({
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": tpl.function_arn(),
                "Principal": "s3.amazonaws.com",
                "SourceArn": {"Fn::Sub": format!("arn:${{AWS::Partition}}:s3:::{}", t.source)},
                "SourceAccount": {"Ref": "AWS::AccountId"}
            }
        });
        tpl.insert("Permission", permission);
        let mut entry = json!({
            "Id": configuration_id(tpl.name),
            "LambdaFunctionArn": "${FunctionArn}",
            "Events": want.events,
        });
        let rules: Vec<Value> = want
            .rules()
            .into_iter()
            .map(|(n, v)| json!({"Name": n, "Value": v}))
            .collect();
        if !rules.is_empty() {
            entry["Filter"] = json!({"Key": {"FilterRules": rules}});
        }
        tpl.outputs.insert(
            format!("{}BucketNotification", tpl.id),
            json!({
                "Description": format!(
                    "Add this to the LambdaFunctionConfigurations of bucket {} (CloudFormation cannot change a bucket it did not create): `cargo lambada deploy` does, keeping the bucket's other notifications",
                    t.source
                ),
                "Value": {"Fn::Sub": [entry.to_string(), {"FunctionArn": tpl.function_arn()}]}
            }),
        );
    }

    async fn wire(
        w: &Wire<'_>,
        ctx: &mut Ctx,
        grants: &mut Vec<Grant>,
    ) -> Result<(Option<String>, Vec<String>), DeployError> {
        let (s, t) = (&w.site, w.t);
        let bucket = t.source.as_str();
        let Some(conf) = read(s.aws, ctx, bucket).await? else {
            return Err(other(format!(
                "trigger `{}`: the S3 bucket `{bucket}` does not exist: create it first (deploy does not create buckets)",
                t.handler
            )));
        };
        // The permission first: S3 checks that it may invoke the function
        // when the configuration is written.
        let account = arn_part(s.function_arn, 4);
        ensure_grant(
            s.aws,
            ctx,
            s.name,
            grants,
            SID,
            "s3.amazonaws.com",
            &bucket_arn(s.function_arn, bucket),
            Some(account).filter(|a| !a.is_empty()),
        )
        .await?;
        let want = S3Settings::of(t);
        let id = configuration_id(s.name);
        let now = conf.lambda_function_configurations();
        let mine: Vec<&LambdaFunctionConfiguration> = now
            .iter()
            .filter(|c| ours(c, &id, s.function_arn))
            .collect();
        let filter = want
            .rules()
            .iter()
            .map(|(n, v)| format!("{n} {v}"))
            .collect::<Vec<_>>()
            .join(", ");
        let summary = format!(
            "{}{}",
            want.events.join(" "),
            if filter.is_empty() {
                String::new()
            } else {
                format!(" ({filter})")
            }
        );
        let up_to_date = matches!(mine[..], [c] if c.id() == Some(id.as_str()) && same(c, s.function_arn, &want));
        if !up_to_date {
            ctx.change(
                format!("s3 notification {id} of bucket {bucket}"),
                if mine.is_empty() { "create" } else { "update" },
                format!(
                    "{summary} → {}; the bucket's other notifications are kept",
                    s.name
                ),
            );
            let mut lambda: Vec<LambdaFunctionConfiguration> = now
                .iter()
                .filter(|c| !ours(c, &id, s.function_arn))
                .cloned()
                .collect();
            lambda.push(entry(&id, s.function_arn, &want)?);
            write(s.aws, ctx, bucket, &conf, lambda).await?;
        }
        Ok((
            Some(bucket.to_owned()),
            vec![format!("s3 bucket {bucket}: {summary} → notification {id}")],
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_compare_by_events_and_filters() {
        let want = S3Settings {
            events: vec!["s3:ObjectRemoved:*".into(), "s3:ObjectCreated:*".into()],
            prefix: Some("in/".into()),
            suffix: None,
        };
        let f = "arn:aws:lambda:us-east-1:1:function:f";
        let e = entry("lambada-f", f, &want).unwrap();
        assert!(same(&e, f, &want));
        assert!(!same(&e, "arn:aws:lambda:us-east-1:1:function:g", &want));
        let other = S3Settings {
            prefix: Some("out/".into()),
            ..want.clone()
        };
        assert!(!same(&e, f, &other));
        assert_eq!(bucket_arn(f, "b"), "arn:aws:s3:::b");
        assert_eq!(bucket_of("arn:aws:s3:::b"), "b");
    }
}
