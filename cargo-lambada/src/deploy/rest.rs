//! The REST API front door (`api = "rest"`, API Gateway v1, payload 1.0).
//!
//! The whole route table is one OpenAPI definition, imported atomically
//! (`ImportRestApi`, then `PutRestApi` in overwrite mode), so the API never
//! shows half a table. Its description carries the app's marker (imports
//! cannot carry tags), which is how deploy and remove find it. The stage
//! deployment is the commit marker: it is the last write, and it records
//! the definition's SHA-256 in a stage variable, so an unchanged app is
//! recognised with `GetRestApis` + `GetStage`.
//!
//! | read back | plan |
//! |---|---|
//! | no API | import, permission (scoped to the API and stage), deploy |
//! | the API, its stage at this definition | nothing |
//! | the API, no deployed stage (an interrupted first deploy) | overwrite, permission, deploy |
//! | the API, its stage at another definition | overwrite, deploy |
//! | nothing wanted | delete every API with the marker |

use aws_sdk_apigateway::primitives::Blob;

use super::door::{Resource, Step, gone, not_found};
use super::{Aws, Ctx, DeployError, MARKER, aws_err, permit_api_gateway};
use crate::config::Config;

/// The stage variable holding the deployed definition's SHA-256.
pub(super) const HASH_VARIABLE: &str = "lambadaDefinition";

/// The REST API of an app.
pub(super) struct RestApi<'a> {
    cfg: &'a Config,
    /// The definition to import, and its SHA-256; `None` removes the API.
    want: Option<(Vec<u8>, String)>,
    /// The API function's ARN (for the permission).
    function_arn: String,
    /// The API's id, once known.
    pub id: Option<String>,
}

/// A REST API carrying the app's marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Found {
    pub id: String,
    /// The definition its stage was deployed at (`None`: no stage yet).
    pub deployed: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Act {
    Import,
    Overwrite(String),
    Permit(String),
    Deploy(String),
    Delete(String),
}

impl<'a> RestApi<'a> {
    /// The REST API `cfg` wants for `body` (the definition), integrated
    /// with `function_arn`; `body: None` when none is wanted.
    pub fn new(cfg: &'a Config, body: Option<Vec<u8>>, function_arn: &str) -> RestApi<'a> {
        RestApi {
            cfg,
            want: body.map(|b| {
                let hash = super::sha256_hex(&b);
                (b, hash)
            }),
            function_arn: function_arn.to_owned(),
            id: None,
        }
    }

    fn marker(&self) -> String {
        format!("{MARKER} {}", self.cfg.function)
    }

    /// The invoke URL.
    pub fn url(&self, region: &str) -> Option<String> {
        self.id.as_ref().map(|id| {
            format!(
                "https://{id}.execute-api.{region}.amazonaws.com/{}/",
                self.cfg.stage
            )
        })
    }

    /// What the function's invoke permission allows: this API's stage.
    fn source_arn(&self, region: &str, id: &str) -> String {
        let account = self.function_arn.split(':').nth(4).unwrap_or("*");
        format!(
            "arn:aws:execute-api:{region}:{account}:{id}/{}/*/*",
            self.cfg.stage
        )
    }
}

impl Resource for RestApi<'_> {
    type Current = Vec<Found>;
    type Act = Act;

    async fn read(&self, aws: &Aws, ctx: &mut Ctx) -> Result<Vec<Found>, DeployError> {
        let marker = self.marker();
        let mut found = Vec::new();
        let mut position: Option<String> = None;
        loop {
            ctx.read("apigateway:GetRestApis");
            let out = aws
                .apigw
                .get_rest_apis()
                .limit(500)
                .set_position(position.clone())
                .send()
                .await
                .map_err(aws_err("apigateway:GetRestApis"))?;
            // `… (managed by cargo-lambada for function NAME)`: the marker
            // ends the description, so `app` does not find `app-dev`'s.
            found.extend(
                out.items()
                    .iter()
                    .filter(|a| {
                        a.description()
                            .is_some_and(|d| d.ends_with(&format!("{marker})")) || d == marker)
                    })
                    .filter_map(|a| a.id())
                    .map(|id| Found {
                        id: id.to_owned(),
                        deployed: None,
                    }),
            );
            match out.position() {
                Some(p) if !out.items().is_empty() => position = Some(p.to_owned()),
                _ => break,
            }
        }
        if self.want.is_some()
            && let Some(first) = found.first_mut()
        {
            ctx.read("apigateway:GetStage");
            match aws
                .apigw
                .get_stage()
                .rest_api_id(&first.id)
                .stage_name(&self.cfg.stage)
                .send()
                .await
            {
                Ok(s) => {
                    first.deployed = s
                        .variables()
                        .and_then(|v| v.get(HASH_VARIABLE))
                        .cloned()
                        .or_else(|| s.deployment_id().map(|_| String::new()));
                }
                Err(e) if not_found(&e) => {}
                Err(e) => return Err(aws_err("apigateway:GetStage")(e)),
            }
        }
        Ok(found)
    }

    fn adopt(&mut self, current: &Vec<Found>) {
        if self.want.is_some() {
            self.id = current.first().map(|f| f.id.clone());
        }
    }

    fn plan(&self, current: &Vec<Found>) -> Result<Vec<Step<Act>>, DeployError> {
        let stage = &self.cfg.stage;
        let Some((_, hash)) = &self.want else {
            return Ok(current
                .iter()
                .map(|f| {
                    Step::new(
                        format!("rest api {}", f.id),
                        "delete",
                        "",
                        "apigateway:DeleteRestApi",
                        Act::Delete(f.id.clone()),
                    )
                })
                .collect());
        };
        let deploy = |id: &str| {
            Step::new(
                format!("stage {stage}"),
                "deploy",
                format!("definition sha256 {}", &hash[..12]),
                "apigateway:CreateDeployment",
                Act::Deploy(id.to_owned()),
            )
        };
        let permit = |id: &str| {
            Step::new(
                format!("permission lambada-{id}-{stage}"),
                "create",
                "API Gateway may invoke the function from this API's stage",
                "lambda:AddPermission",
                Act::Permit(id.to_owned()),
            )
        };
        let mut steps = match current.first() {
            None => vec![
                Step::new(
                    format!("rest api {}", self.cfg.api_name),
                    "create",
                    "the route table in one import",
                    "apigateway:ImportRestApi",
                    Act::Import,
                ),
                permit(""),
                deploy(""),
            ],
            Some(f) if f.deployed.as_deref() == Some(hash.as_str()) => Vec::new(),
            Some(f) => {
                let mut s = vec![Step::new(
                    format!("rest api {}", f.id),
                    "update",
                    "the route table in one overwrite",
                    "apigateway:PutRestApi",
                    Act::Overwrite(f.id.clone()),
                )];
                if f.deployed.is_none() {
                    s.push(permit(&f.id));
                }
                s.push(deploy(&f.id));
                s
            }
        };
        // Copies left by hand-deleted functions: one API per app.
        steps.extend(current.iter().skip(1).map(|f| {
            Step::new(
                format!("rest api {}", f.id),
                "delete",
                "a second API of this app",
                "apigateway:DeleteRestApi",
                Act::Delete(f.id.clone()),
            )
        }));
        Ok(steps)
    }

    async fn apply(&mut self, aws: &Aws, _ctx: &mut Ctx, act: &Act) -> Result<(), DeployError> {
        let body = || {
            self.want
                .as_ref()
                .map(|(b, _)| Blob::new(b.clone()))
                .unwrap_or_else(|| Blob::new(Vec::new()))
        };
        match act {
            Act::Import => {
                let out = aws
                    .apigw
                    .import_rest_api()
                    .fail_on_warnings(true)
                    .body(body())
                    .send()
                    .await
                    .map_err(aws_err("apigateway:ImportRestApi"))?;
                self.id = out.id().map(str::to_owned);
            }
            Act::Overwrite(id) => {
                aws.apigw
                    .put_rest_api()
                    .rest_api_id(id)
                    .mode(aws_sdk_apigateway::types::PutMode::Overwrite)
                    .fail_on_warnings(true)
                    .body(body())
                    .send()
                    .await
                    .map_err(aws_err("apigateway:PutRestApi"))?;
                self.id = Some(id.clone());
            }
            Act::Permit(id) => {
                let id = self.id.clone().unwrap_or_else(|| id.clone());
                let source = self.source_arn(&aws.region, &id);
                permit_api_gateway(
                    aws,
                    &self.cfg.function,
                    format!("lambada-{id}-{}", self.cfg.stage),
                    source,
                )
                .await?;
            }
            Act::Deploy(id) => {
                let id = self.id.clone().unwrap_or_else(|| id.clone());
                let hash = self
                    .want
                    .as_ref()
                    .map(|(_, h)| h.clone())
                    .unwrap_or_default();
                aws.apigw
                    .create_deployment()
                    .rest_api_id(&id)
                    .stage_name(&self.cfg.stage)
                    .description(format!("lambada definition sha256={hash}"))
                    .variables(HASH_VARIABLE, hash)
                    .send()
                    .await
                    .map_err(aws_err("apigateway:CreateDeployment"))?;
                self.id = Some(id);
            }
            Act::Delete(id) => gone(
                aws.apigw.delete_rest_api().rest_api_id(id).send().await,
                "apigateway:DeleteRestApi",
            )?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(id: &str, deployed: Option<&str>) -> Found {
        Found {
            id: id.into(),
            deployed: deployed.map(str::to_owned),
        }
    }

    fn acts(plan: Vec<Step<Act>>) -> Vec<Act> {
        plan.into_iter().map(|s| s.act).collect()
    }

    #[test]
    fn plans_from_what_is_there() {
        let cfg = crate::config::tests::config("app");
        let api = RestApi::new(
            &cfg,
            Some(b"{}".to_vec()),
            "arn:aws:lambda:r:1:function:app",
        );
        let hash = super::super::sha256_hex(b"{}");
        assert_eq!(
            acts(api.plan(&vec![]).unwrap()),
            [
                Act::Import,
                Act::Permit(String::new()),
                Act::Deploy(String::new())
            ]
        );
        assert!(api.plan(&vec![found("a", Some(&hash))]).unwrap().is_empty());
        assert_eq!(
            acts(api.plan(&vec![found("a", Some("old"))]).unwrap()),
            [Act::Overwrite("a".into()), Act::Deploy("a".into())]
        );
        // Imported, never deployed: the permission may be missing too.
        assert_eq!(
            acts(api.plan(&vec![found("a", None)]).unwrap()),
            [
                Act::Overwrite("a".into()),
                Act::Permit("a".into()),
                Act::Deploy("a".into())
            ]
        );
        assert_eq!(
            acts(
                api.plan(&vec![found("a", Some(&hash)), found("b", None)])
                    .unwrap()
            ),
            [Act::Delete("b".into())]
        );
        let gone = RestApi::new(&cfg, None, "");
        assert_eq!(
            acts(
                gone.plan(&vec![found("a", None), found("b", None)])
                    .unwrap()
            ),
            [Act::Delete("a".into()), Act::Delete("b".into())]
        );
        assert!(gone.plan(&vec![]).unwrap().is_empty());
    }
}
