//! The shared core of the front doors (REST API, HTTP API, function URL)
//! and of custom domains: read what exists, plan the writes from that to
//! what the app wants (a pure function of the two, unit-tested without
//! AWS), then apply them in order.
//!
//! Wanting nothing is a state like any other: the plan is then the
//! deletion. `--dry-run` prints the plan and sends none of it; a re-run
//! after an interruption reads what the last run left and plans from there,
//! so each resource orders its writes with its commit marker last.

use super::{Aws, Ctx, DeployError};

/// One write of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Step<A> {
    /// What it changes, for the log (`rest api abc123`).
    pub resource: String,
    /// `create`, `update`, `delete`, …
    pub action: &'static str,
    /// For the log.
    pub detail: String,
    /// The AWS operation, for the call report (`apigateway:ImportRestApi`).
    pub operation: &'static str,
    /// What to do.
    pub act: A,
}

impl<A> Step<A> {
    pub fn new(
        resource: impl Into<String>,
        action: &'static str,
        detail: impl Into<String>,
        operation: &'static str,
        act: A,
    ) -> Step<A> {
        Step {
            resource: resource.into(),
            action,
            detail: detail.into(),
            operation,
            act,
        }
    }
}

/// Something deploy converges: a front door, a custom domain.
pub(super) trait Resource {
    /// What exists now, as read back.
    type Current;
    /// One write.
    type Act;

    /// Reads what exists.
    async fn read(&self, aws: &Aws, ctx: &mut Ctx) -> Result<Self::Current, DeployError>;

    /// Takes what later writes need from what was read (the id of the
    /// resource found).
    fn adopt(&mut self, _current: &Self::Current) {}

    /// The writes from `current` to what is wanted; none when they agree.
    /// `Err` when the wanted state cannot be reached (a name taken by
    /// something that is not the app's), before anything is written.
    fn plan(&self, current: &Self::Current) -> Result<Vec<Step<Self::Act>>, DeployError>;

    /// Performs one write (later writes may use what it returns, such as
    /// a new id: the resource keeps that itself).
    async fn apply(&mut self, aws: &Aws, ctx: &mut Ctx, act: &Self::Act)
    -> Result<(), DeployError>;
}

/// Reads (unless `known` already says what exists), plans and applies.
pub(super) async fn converge<R: Resource>(
    r: &mut R,
    aws: &Aws,
    ctx: &mut Ctx,
    known: Option<R::Current>,
) -> Result<(), DeployError> {
    let current = match known {
        Some(c) => c,
        None => r.read(aws, ctx).await?,
    };
    r.adopt(&current);
    for step in r.plan(&current)? {
        ctx.change(step.resource.clone(), step.action, step.detail.clone());
        if ctx.write(step.operation) {
            r.apply(aws, ctx, &step.act).await?;
        }
    }
    Ok(())
}

/// Whether an AWS error is a "no such thing" answer (a 404, whatever the
/// service calls it).
pub(super) fn not_found<E: aws_sdk_lambda::error::ProvideErrorMetadata>(
    e: &aws_sdk_lambda::error::SdkError<E>,
) -> bool {
    use aws_sdk_lambda::error::ProvideErrorMetadata;
    e.code()
        .is_some_and(|c| c.contains("NotFound") || c == "NoSuchEntity")
        || e.raw_response().is_some_and(|r| r.status().as_u16() == 404)
}

/// A delete's answer: the thing already gone is the state wanted (a re-run
/// after a half-finished remove converges), any other error is `operation`'s.
pub(super) fn gone<T, E>(
    result: Result<T, aws_sdk_lambda::error::SdkError<E>>,
    operation: &'static str,
) -> Result<(), DeployError>
where
    E: std::error::Error + aws_sdk_lambda::error::ProvideErrorMetadata + 'static,
{
    match result {
        Ok(_) => Ok(()),
        Err(e) if not_found(&e) => Ok(()),
        Err(e) => Err(super::aws_err(operation)(e)),
    }
}
