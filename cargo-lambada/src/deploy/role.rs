//! The execution role `deploy` creates when none is configured:
//! `lambada-<function>`, trusted by Lambda, tagged for the app, with one
//! inline policy (logs, VPC interfaces with subnets, and reading the
//! triggers' queues and streams).

use serde_json::json;

use super::{Aws, Ctx, DeployError, MARKER, TAG, aws_err, triggers};
use crate::config::Config;

pub(super) fn role_name(function: &str) -> String {
    let name = format!("lambada-{function}");
    name.chars().take(64).collect()
}

/// What the created role may do: write its logs, manage its network
/// interfaces when the function runs in a VPC, and whatever `extra` grants
/// (reading the queues and streams of the triggers).
fn execution_policy(vpc: bool, extra: &[serde_json::Value]) -> String {
    let mut statements = vec![json!({
        "Effect": "Allow",
        "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": "*"
    })];
    if vpc {
        statements.push(json!({
            "Effect": "Allow",
            "Action": ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"],
            "Resource": "*"
        }));
    }
    statements.extend(extra.iter().cloned());
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

/// Whether the policy document IAM returned (URL-encoded on AWS, plain
/// JSON on some emulators) says the same as `wanted`.
fn same_policy(returned: &str, wanted: &str) -> bool {
    let parse = |text: &str| serde_json::from_str::<serde_json::Value>(text).ok();
    let got = parse(returned).or_else(|| {
        percent_encoding::percent_decode_str(returned)
            .decode_utf8()
            .ok()
            .and_then(|t| parse(&t))
    });
    got.is_some() && got == parse(wanted)
}

/// The account id of an ARN (`arn:aws:iam::123456789012:role/x`).
pub(super) fn arn_account(arn: &str) -> &str {
    arn.split(':')
        .nth(4)
        .filter(|a| !a.is_empty())
        .unwrap_or("000000000000")
}

const POLICY_NAME: &str = "lambada-execution";

const TRUST_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// Ensures the execution role (unless one is configured) and its inline
/// policy; `extra` are the statements the triggers need. Returns its ARN.
///
/// `in_use` is the role an existing function of the app runs with: when it
/// is this role, the role exists and only its policy is read
/// (`GetRolePolicy`), one read instead of two.
pub(super) async fn ensure(
    aws: &Aws,
    ctx: &mut Ctx,
    cfg: &Config,
    extra: &[serde_json::Value],
    in_use: Option<&str>,
) -> Result<String, DeployError> {
    if let Some(arn) = &cfg.role {
        if !extra.is_empty() {
            ctx.step(&format!(
                "role: {arn} is configured, so it is left as it is: it must allow {}",
                triggers::describe_statements(extra)
            ));
        }
        return Ok(arn.clone());
    }
    let name = role_name(&cfg.function);
    let policy = execution_policy(!cfg.subnets.is_empty(), extra);
    ctx.step(&format!("role: {name}"));
    let known = in_use.filter(|arn| arn.ends_with(&format!(":role/{name}")));
    let existing = match known {
        Some(arn) => Some(arn.to_owned()),
        None => {
            ctx.read("iam:GetRole");
            match aws.iam.get_role().role_name(&name).send().await {
                Ok(out) => out.role().map(|r| r.arn().to_owned()),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_no_such_entity_exception()) =>
                {
                    None
                }
                Err(e) => return Err(aws_err("iam:GetRole")(e)),
            }
        }
    };
    let mut attach = true;
    let arn = match existing {
        Some(arn) => {
            // An interrupted run may have created the role but not its
            // policy; a change of triggers changes the policy.
            ctx.read("iam:GetRolePolicy");
            match aws
                .iam
                .get_role_policy()
                .role_name(&name)
                .policy_name(POLICY_NAME)
                .send()
                .await
            {
                Ok(p) if same_policy(p.policy_document(), &policy) => return Ok(arn),
                Ok(_) => {
                    ctx.change(
                        format!("iam role {name}"),
                        "update",
                        "inline policy (the triggers' queues and streams)",
                    );
                    attach = false;
                    arn
                }
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_no_such_entity_exception()) =>
                {
                    if known.is_some() {
                        // No policy, or no role at all (deleted by hand):
                        // read the role as a first deploy would.
                        return Box::pin(ensure(aws, ctx, cfg, extra, None)).await;
                    }
                    arn
                }
                Err(e) => return Err(aws_err("iam:GetRolePolicy")(e)),
            }
        }
        None => {
            ctx.change(
                format!("iam role {name}"),
                "create",
                "trusted by lambda.amazonaws.com",
            );
            let mut arn = format!("arn:aws:iam::000000000000:role/{name}");
            if ctx.write("iam:CreateRole") {
                let tag = aws_sdk_iam::types::Tag::builder()
                    .key(TAG)
                    .value(&cfg.function)
                    .build()
                    .map_err(|e| DeployError::Other(e.to_string()))?;
                match aws
                    .iam
                    .create_role()
                    .role_name(&name)
                    .assume_role_policy_document(TRUST_POLICY)
                    .description(format!("{MARKER} {}", cfg.function))
                    .tags(tag)
                    .send()
                    .await
                {
                    Ok(o) => {
                        if let Some(r) = o.role() {
                            arn = r.arn().to_owned();
                        }
                    }
                    Err(e) => return Err(aws_err("iam:CreateRole")(e)),
                }
            }
            arn
        }
    };
    if attach {
        ctx.change(
            format!("iam role {name}"),
            "attach",
            if extra.is_empty() {
                "inline policy: logs (and VPC interfaces with subnets)"
            } else {
                "inline policy: logs, the triggers' queues and streams (and VPC interfaces with subnets)"
            },
        );
    }
    if ctx.write("iam:PutRolePolicy") {
        aws.iam
            .put_role_policy()
            .role_name(&name)
            .policy_name(POLICY_NAME)
            .policy_document(policy)
            .send()
            .await
            .map_err(aws_err("iam:PutRolePolicy"))?;
    }
    if attach {
        for p in &cfg.policies {
            if ctx.write("iam:AttachRolePolicy") {
                aws.iam
                    .attach_role_policy()
                    .role_name(&name)
                    .policy_arn(p)
                    .send()
                    .await
                    .map_err(aws_err("iam:AttachRolePolicy"))?;
            }
        }
    }
    Ok(arn)
}

/// Deletes the role `deploy` created (tagged for the app), with its
/// policies; a configured role is left alone.
pub(super) async fn remove(aws: &Aws, ctx: &mut Ctx, cfg: &Config) -> Result<(), DeployError> {
    if cfg.role.is_some() {
        return Ok(());
    }
    let name = role_name(&cfg.function);
    ctx.read("iam:GetRole");
    match aws.iam.get_role().role_name(&name).send().await {
        Ok(r)
            if r.role().is_some_and(|r| {
                r.tags()
                    .iter()
                    .any(|t| t.key() == TAG && t.value() == cfg.function)
            }) =>
        {
            ctx.read("iam:ListAttachedRolePolicies");
            let attached = aws
                .iam
                .list_attached_role_policies()
                .role_name(&name)
                .send()
                .await
                .map_err(aws_err("iam:ListAttachedRolePolicies"))?;
            ctx.read("iam:ListRolePolicies");
            let inline = aws
                .iam
                .list_role_policies()
                .role_name(&name)
                .send()
                .await
                .map_err(aws_err("iam:ListRolePolicies"))?;
            for p in inline.policy_names() {
                if ctx.write("iam:DeleteRolePolicy") {
                    aws.iam
                        .delete_role_policy()
                        .role_name(&name)
                        .policy_name(p)
                        .send()
                        .await
                        .map_err(aws_err("iam:DeleteRolePolicy"))?;
                }
            }
            for p in attached.attached_policies() {
                if ctx.write("iam:DetachRolePolicy") {
                    aws.iam
                        .detach_role_policy()
                        .role_name(&name)
                        .policy_arn(p.policy_arn().unwrap_or_default())
                        .send()
                        .await
                        .map_err(aws_err("iam:DetachRolePolicy"))?;
                }
            }
            ctx.change(format!("iam role {name}"), "delete", "");
            if ctx.write("iam:DeleteRole") {
                aws.iam
                    .delete_role()
                    .role_name(&name)
                    .send()
                    .await
                    .map_err(aws_err("iam:DeleteRole"))?;
            }
        }
        Ok(_) => eprintln!("  role {name} is not tagged {TAG}: left alone"),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) => {}
        Err(e) => return Err(aws_err("iam:GetRole")(e)),
    }
    Ok(())
}
