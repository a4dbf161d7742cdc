//! `#[authorizer]`: the permission `lambada-authorizer` for the API's
//! authorizers (the authorizer itself is the front door's).

use serde_json::json;

use super::{Grant, Wire, Wiring, arn_part, ensure_grant};
use crate::deploy::{Ctx, DeployError};
use crate::package::Template;

/// The statement id of the permission for the API's authorizers.
const SID: &str = "lambada-authorizer";

pub(super) struct Authorizer;

impl Wiring for Authorizer {
    const SID: Option<&'static str> = Some(SID);

    fn current(w: &Wire<'_>, g: &Grant) -> bool {
        w.api_id
            .map(|api| authorizer_source_arn(&w.site.aws.region, w.site.function_arn, api))
            .as_ref()
            == Some(&g.source_arn)
    }

    /// API Gateway invokes it for the stack's API (`Api`, REST or HTTP).
    fn template(tpl: &mut Template<'_>) {
        if tpl.has_authorizers {
            tpl.permission(
                "apigateway.amazonaws.com",
                json!({"Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/authorizers/*"}),
            );
        }
    }

    async fn wire(
        w: &Wire<'_>,
        ctx: &mut Ctx,
        grants: &mut Vec<Grant>,
    ) -> Result<(Option<String>, Vec<String>), DeployError> {
        let s = &w.site;
        match w.api_id {
            Some(api) => {
                let arn = authorizer_source_arn(&s.aws.region, s.function_arn, api);
                ensure_grant(
                    s.aws,
                    ctx,
                    s.name,
                    grants,
                    SID,
                    "apigateway.amazonaws.com",
                    &arn,
                    None,
                )
                .await?;
                Ok((
                    Some(api.to_owned()),
                    vec![format!(
                        "authorizer of API {api}, invoked by API Gateway from {arn}"
                    )],
                ))
            }
            None => Ok((
                None,
                vec!["no HTTP routes: the authorizer protects nothing".into()],
            )),
        }
    }
}

/// What API Gateway's authorizers of `api` invoke a function from.
fn authorizer_source_arn(region: &str, function_arn: &str, api: &str) -> String {
    format!(
        "arn:aws:execute-api:{region}:{}:{api}/authorizers/*",
        arn_part(function_arn, 4)
    )
}
