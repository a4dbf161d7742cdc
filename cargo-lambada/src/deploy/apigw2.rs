//! What the API Gateway v2 front doors (HTTP APIs, WebSocket APIs) read
//! and write alike: the app's APIs of one protocol, found by their tags,
//! whether a stage exists, and an auto-deployed stage.

use aws_sdk_apigatewayv2::types::ProtocolType;

use super::door::not_found;
use super::http_api::HASH_TAG;
use super::{Aws, Ctx, DeployError, MARKER, TAG, aws_err};

/// An API of the app: its id, and the hash of the definition it was last
/// given (its `lambada:definition` tag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TaggedApi {
    pub id: String,
    pub definition: Option<String>,
}

/// The `protocol` APIs tagged for `function` (every page of `GetApis`).
pub(super) async fn tagged_apis(
    aws: &Aws,
    ctx: &mut Ctx,
    protocol: &ProtocolType,
    function: &str,
) -> Result<Vec<TaggedApi>, DeployError> {
    let mut found = Vec::new();
    let mut token: Option<String> = None;
    loop {
        ctx.read("apigatewayv2:GetApis");
        let out = aws
            .apigw2
            .get_apis()
            .max_results("500")
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(aws_err("apigatewayv2:GetApis"))?;
        for api in out.items() {
            let tags = api.tags();
            let tag = |k: &str| tags.and_then(|t| t.get(k));
            if api.protocol_type() == Some(protocol)
                && tag(TAG).is_some_and(|f| f == function)
                && let Some(id) = api.api_id()
            {
                found.push(TaggedApi {
                    id: id.to_owned(),
                    definition: tag(HASH_TAG).cloned(),
                });
            }
        }
        match out.next_token() {
            Some(t) if !out.items().is_empty() => token = Some(t.to_owned()),
            _ => break,
        }
    }
    Ok(found)
}

/// Whether API `api_id` has the stage `stage`.
pub(super) async fn stage_exists(
    aws: &Aws,
    ctx: &mut Ctx,
    api_id: &str,
    stage: &str,
) -> Result<bool, DeployError> {
    ctx.read("apigatewayv2:GetStage");
    match aws
        .apigw2
        .get_stage()
        .api_id(api_id)
        .stage_name(stage)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if not_found(&e) => Ok(false),
        Err(e) => Err(aws_err("apigatewayv2:GetStage")(e)),
    }
}

/// An auto-deployed stage `stage` of API `api_id`, marked as `function`'s;
/// one already there is the stage wanted (a re-run converges).
pub(super) async fn create_stage(
    aws: &Aws,
    api_id: &str,
    stage: &str,
    function: &str,
) -> Result<(), DeployError> {
    match aws
        .apigw2
        .create_stage()
        .api_id(api_id)
        .stage_name(stage)
        .auto_deploy(true)
        .description(format!("{MARKER} {function}"))
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_conflict_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(aws_err("apigatewayv2:CreateStage")(e)),
    }
}
