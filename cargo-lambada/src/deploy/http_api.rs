//! The HTTP API front door (`api = "http"`, API Gateway v2, payload 2.0).
//!
//! `CreateApi` (tagged with the app and the definition's SHA-256), one
//! `ReimportApi` of the whole route table (routes, `AWS_PROXY`
//! integrations with payload format 2.0, authorizers, CORS), the invoke
//! permission scoped to the API, and last the `$default` stage with
//! auto-deploy: the stage is the commit marker of a creation, the
//! definition tag (written after a reimport) that of an update. An
//! unchanged app is recognised with `GetApis` + `GetStage`.
//!
//! | read back | plan |
//! |---|---|
//! | no API | create, reimport, permission, stage |
//! | the API at this definition, with its stage | nothing |
//! | the API at this definition, no stage (an interrupted creation) | reimport, permission, stage |
//! | the API at another definition | reimport (stage ensured), tag |
//! | nothing wanted | delete every API tagged for the app |

use aws_sdk_apigatewayv2::types::ProtocolType;

use super::apigw2;
use super::door::{Resource, Step, gone};
use super::{Aws, Ctx, DeployError, MARKER, TAG, aws_err, permit_api_gateway};
use crate::config::Config;

/// The tag holding the imported definition's SHA-256.
pub(super) const HASH_TAG: &str = "lambada:definition";
/// The stage: auto-deployed, at the API's root.
pub(super) const STAGE: &str = "$default";

/// The HTTP API of an app.
pub(super) struct HttpApi<'a> {
    cfg: &'a Config,
    /// The definition and its SHA-256; `None` removes the API.
    want: Option<(String, String)>,
    /// The API function's ARN (for the permission).
    function_arn: String,
    /// The API's id, once known.
    pub id: Option<String>,
}

/// An HTTP API tagged for the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Found {
    pub id: String,
    /// Its definition tag.
    pub definition: Option<String>,
    /// Whether its `$default` stage exists (read for the first one only).
    pub stage: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Act {
    Create,
    Reimport,
    Permit,
    Stage,
    Tag,
    Delete(String),
}

impl<'a> HttpApi<'a> {
    /// The HTTP API `cfg` wants for `body`, integrated with
    /// `function_arn`; `body: None` when none is wanted.
    pub fn new(cfg: &'a Config, body: Option<Vec<u8>>, function_arn: &str) -> HttpApi<'a> {
        HttpApi {
            cfg,
            want: body.map(|b| {
                let hash = super::sha256_hex(&b);
                (String::from_utf8_lossy(&b).into_owned(), hash)
            }),
            function_arn: function_arn.to_owned(),
            id: None,
        }
    }

    /// The invoke URL.
    pub fn url(&self, region: &str) -> Option<String> {
        self.id
            .as_ref()
            .map(|id| format!("https://{id}.execute-api.{region}.amazonaws.com/"))
    }

    fn id(&self) -> Result<&str, DeployError> {
        self.id
            .as_deref()
            .ok_or_else(|| DeployError::Other("the HTTP API's id is not known yet".into()))
    }

    fn hash(&self) -> String {
        self.want
            .as_ref()
            .map(|(_, h)| h.clone())
            .unwrap_or_default()
    }

    fn arn(region: &str, id: &str) -> String {
        format!("arn:aws:apigateway:{region}::/apis/{id}")
    }

    async fn create_stage(&self, aws: &Aws, id: &str) -> Result<(), DeployError> {
        apigw2::create_stage(aws, id, STAGE, &self.cfg.function).await
    }
}

impl Resource for HttpApi<'_> {
    type Current = Vec<Found>;
    type Act = Act;

    async fn read(&self, aws: &Aws, ctx: &mut Ctx) -> Result<Vec<Found>, DeployError> {
        let mut found: Vec<Found> =
            apigw2::tagged_apis(aws, ctx, &ProtocolType::Http, &self.cfg.function)
                .await?
                .into_iter()
                .map(|a| Found {
                    id: a.id,
                    definition: a.definition,
                    stage: false,
                })
                .collect();
        if self.want.is_some()
            && let Some(first) = found.first_mut()
        {
            first.stage = apigw2::stage_exists(aws, ctx, &first.id, STAGE).await?;
        }
        Ok(found)
    }

    fn adopt(&mut self, current: &Vec<Found>) {
        if self.want.is_some() {
            self.id = current.first().map(|f| f.id.clone());
        }
    }

    fn plan(&self, current: &Vec<Found>) -> Result<Vec<Step<Act>>, DeployError> {
        let Some((_, hash)) = &self.want else {
            return Ok(current
                .iter()
                .map(|f| {
                    Step::new(
                        format!("http api {}", f.id),
                        "delete",
                        "",
                        "apigatewayv2:DeleteApi",
                        Act::Delete(f.id.clone()),
                    )
                })
                .collect());
        };
        let name = current
            .first()
            .map_or(self.cfg.api_name.clone(), |f| f.id.clone());
        let reimport = Step::new(
            format!("http api {name}"),
            "import",
            "the route table in one reimport",
            "apigatewayv2:ReimportApi",
            Act::Reimport,
        );
        let permit = Step::new(
            format!("permission lambada-http-{name}"),
            "create",
            "API Gateway may invoke the function from this API",
            "lambda:AddPermission",
            Act::Permit,
        );
        let stage = Step::new(
            format!("stage {STAGE} of {name}"),
            "create",
            format!("auto-deployed, definition sha256 {}", &hash[..12]),
            "apigatewayv2:CreateStage",
            Act::Stage,
        );
        let mut steps = match current.first() {
            None => vec![
                Step::new(
                    format!("http api {}", self.cfg.api_name),
                    "create",
                    "tagged for the app",
                    "apigatewayv2:CreateApi",
                    Act::Create,
                ),
                reimport,
                permit,
                stage,
            ],
            Some(f) if f.definition.as_deref() == Some(hash.as_str()) && f.stage => Vec::new(),
            Some(f) if f.definition.as_deref() == Some(hash.as_str()) => {
                vec![reimport, permit, stage]
            }
            Some(f) => {
                let mut s = vec![reimport];
                if !f.stage {
                    s.push(permit);
                    s.push(stage);
                }
                s.push(Step::new(
                    format!("http api {}", f.id),
                    "tag",
                    format!("definition sha256 {}", &hash[..12]),
                    "apigatewayv2:TagResource",
                    Act::Tag,
                ));
                s
            }
        };
        steps.extend(current.iter().skip(1).map(|f| {
            Step::new(
                format!("http api {}", f.id),
                "delete",
                "a second API of this app",
                "apigatewayv2:DeleteApi",
                Act::Delete(f.id.clone()),
            )
        }));
        Ok(steps)
    }

    async fn apply(&mut self, aws: &Aws, ctx: &mut Ctx, act: &Act) -> Result<(), DeployError> {
        match act {
            Act::Create => {
                let out = aws
                    .apigw2
                    .create_api()
                    .name(&self.cfg.api_name)
                    .protocol_type(aws_sdk_apigatewayv2::types::ProtocolType::Http)
                    .description(format!(
                        "{} ({MARKER} {})",
                        self.cfg.api_name, self.cfg.function
                    ))
                    .tags(TAG, &self.cfg.function)
                    .tags(HASH_TAG, self.hash())
                    .send()
                    .await
                    .map_err(aws_err("apigatewayv2:CreateApi"))?;
                self.id = out.api_id().map(str::to_owned);
            }
            Act::Reimport => {
                let id = self.id()?.to_owned();
                let body = self
                    .want
                    .as_ref()
                    .map(|(b, _)| b.clone())
                    .unwrap_or_default();
                aws.apigw2
                    .reimport_api()
                    .api_id(&id)
                    .body(body)
                    .send()
                    .await
                    .map_err(aws_err("apigatewayv2:ReimportApi"))?;
            }
            Act::Permit => {
                let id = self.id()?.to_owned();
                let account = self.function_arn.split(':').nth(4).unwrap_or("*");
                permit_api_gateway(
                    aws,
                    &self.cfg.function,
                    format!("lambada-http-{id}"),
                    format!("arn:aws:execute-api:{}:{account}:{id}/*/*", aws.region),
                )
                .await?;
            }
            Act::Stage => {
                let id = self.id()?.to_owned();
                self.create_stage(aws, &id).await?;
            }
            Act::Tag => {
                let id = self.id()?.to_owned();
                // A reimport keeps the stages on AWS; moto 5.2's drops
                // them. Either way the stage exists after this one read.
                if !apigw2::stage_exists(aws, ctx, &id, STAGE).await?
                    && ctx.write("apigatewayv2:CreateStage")
                {
                    self.create_stage(aws, &id).await?;
                }
                aws.apigw2
                    .tag_resource()
                    .resource_arn(Self::arn(&aws.region, &id))
                    .tags(HASH_TAG, self.hash())
                    .send()
                    .await
                    .map_err(aws_err("apigatewayv2:TagResource"))?;
            }
            Act::Delete(id) => gone(
                aws.apigw2.delete_api().api_id(id).send().await,
                "apigatewayv2:DeleteApi",
            )?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(definition: Option<&str>, stage: bool) -> Found {
        Found {
            id: "a".into(),
            definition: definition.map(str::to_owned),
            stage,
        }
    }

    fn acts(plan: Vec<Step<Act>>) -> Vec<Act> {
        plan.into_iter().map(|s| s.act).collect()
    }

    #[test]
    fn plans_from_what_is_there() {
        let cfg = crate::config::tests::config("app");
        let api = HttpApi::new(
            &cfg,
            Some(b"{}".to_vec()),
            "arn:aws:lambda:r:1:function:app",
        );
        let hash = super::super::sha256_hex(b"{}");
        assert_eq!(
            acts(api.plan(&vec![]).unwrap()),
            [Act::Create, Act::Reimport, Act::Permit, Act::Stage]
        );
        assert!(
            api.plan(&vec![found(Some(&hash), true)])
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            acts(api.plan(&vec![found(Some(&hash), false)]).unwrap()),
            [Act::Reimport, Act::Permit, Act::Stage]
        );
        assert_eq!(
            acts(api.plan(&vec![found(Some("old"), true)]).unwrap()),
            [Act::Reimport, Act::Tag]
        );
        assert_eq!(
            acts(api.plan(&vec![found(None, false)]).unwrap()),
            [Act::Reimport, Act::Permit, Act::Stage, Act::Tag]
        );
        let gone = HttpApi::new(&cfg, None, "");
        assert_eq!(
            acts(gone.plan(&vec![found(None, true)]).unwrap()),
            [Act::Delete("a".into())]
        );
    }
}
