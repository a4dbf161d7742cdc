//! The WebSocket API of an app with `#[ws_connect]` / `#[ws_disconnect]` /
//! `#[ws_message]` handlers: API Gateway v2 with `ProtocolType=WEBSOCKET`,
//! in front of the API function.
//!
//! WebSocket APIs cannot be imported from a document, so the API is built
//! call by call: `CreateApi` (tagged with the app and the SHA-256 of what
//! it should be: selection expression, route keys, function, stage), one
//! `AWS_PROXY` integration to the function, one route per handler, the
//! invoke permission scoped to the API, and last the stage with
//! auto-deploy, the commit marker of a creation (the definition tag is
//! that of an update). An unchanged app is recognised with `GetApis` +
//! `GetStage`.
//!
//! | read back | plan |
//! |---|---|
//! | no API | create, integration, one route per key, permission, stage |
//! | the API at this definition, with its stage | nothing |
//! | the API at another definition, or no stage | its selection expression, integration and routes read (`GetApi`, `GetIntegrations`, `GetRoutes`); what differs written; permission and stage if the stage is missing; tag |
//! | nothing wanted | delete every WebSocket API tagged for the app |

use aws_sdk_apigatewayv2::types::{IntegrationType, ProtocolType};
use serde_json::{Value, json};

use super::apigw2;
use super::door::{Resource, Step, gone};
use super::http_api::HASH_TAG;
use super::{Aws, Ctx, DeployError, MARKER, TAG, aws_err, permit_api_gateway};
use crate::config::Config;
use crate::manifest::Manifest;

/// What the app wants of its WebSocket API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Want {
    pub selection: String,
    /// The route keys, sorted.
    pub keys: Vec<String>,
    pub hash: String,
}

impl Want {
    pub fn of(m: &Manifest, cfg: &Config, function_arn: &str) -> Option<Want> {
        let ws = m.websocket.as_ref().filter(|w| !w.routes.is_empty())?;
        let mut keys: Vec<String> = ws.routes.iter().map(|r| r.route_key.clone()).collect();
        keys.sort();
        let text = json!({
            "selection": ws.route_selection,
            "keys": keys,
            "function": function_arn,
            "stage": cfg.stage,
        })
        .to_string();
        Some(Want {
            selection: ws.route_selection.clone(),
            keys,
            hash: super::sha256_hex(text.as_bytes()),
        })
    }
}

/// The WebSocket API of an app.
pub(super) struct WebSocketApi<'a> {
    cfg: &'a Config,
    want: Option<Want>,
    function_arn: String,
    /// The API's id, once known.
    pub id: Option<String>,
    /// The integration's id, once made.
    integration: Option<String>,
}

/// A WebSocket API tagged for the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Found {
    pub id: String,
    pub definition: Option<String>,
    /// Whether its stage exists (read for the first one only).
    pub stage: bool,
    /// What it holds, read when it is not at the wanted definition.
    pub detail: Option<Detail>,
}

/// The parts of an API that may differ from what is wanted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Detail {
    pub selection: Option<String>,
    /// The `AWS_PROXY` integration: id, URI.
    pub integration: Option<(String, String)>,
    /// Route key, route id, target.
    pub routes: Vec<(String, String, Option<String>)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Act {
    Create,
    Integration,
    Route(String),
    UpdateSelection,
    UpdateIntegration(String),
    /// Points a route (by id) at the integration.
    UpdateRoute(String),
    DeleteRoute(String),
    Permit,
    Stage,
    Tag,
    Delete(String),
}

/// The API's name: the app's API name with `-websocket`.
pub(super) fn api_name(cfg: &Config) -> String {
    format!("{}-websocket", cfg.api_name)
}

/// The function's role statement: posting to (and reading, closing) the
/// connections of the app's WebSocket APIs.
pub(super) fn role_statement(region: &str) -> Value {
    json!({
        "Effect": "Allow",
        "Action": ["execute-api:ManageConnections"],
        "Resource": [format!("arn:aws:execute-api:{region}:*:*/*/*/@connections/*")],
    })
}

fn integration_uri(region: &str, function_arn: &str) -> String {
    format!(
        "arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    )
}

impl<'a> WebSocketApi<'a> {
    pub fn new(cfg: &'a Config, want: Option<Want>, function_arn: &str) -> WebSocketApi<'a> {
        WebSocketApi {
            cfg,
            want,
            function_arn: function_arn.to_owned(),
            id: None,
            integration: None,
        }
    }

    /// The `wss://` URL clients connect to.
    pub fn url(&self, region: &str) -> Option<String> {
        self.id.as_ref().map(|id| {
            format!(
                "wss://{id}.execute-api.{region}.amazonaws.com/{}",
                self.cfg.stage
            )
        })
    }

    fn id(&self) -> Result<String, DeployError> {
        self.id
            .clone()
            .ok_or_else(|| DeployError::Other("the WebSocket API's id is not known yet".into()))
    }

    fn want(&self) -> Result<&Want, DeployError> {
        self.want
            .as_ref()
            .ok_or_else(|| DeployError::Other("no WebSocket API is wanted".into()))
    }

    async fn create_integration(&self, aws: &Aws, id: &str) -> Result<String, DeployError> {
        let out = aws
            .apigw2
            .create_integration()
            .api_id(id)
            .integration_type(IntegrationType::AwsProxy)
            .integration_method("POST")
            .integration_uri(integration_uri(&aws.region, &self.function_arn))
            .description(format!("{MARKER} {}", self.cfg.function))
            .send()
            .await
            .map_err(aws_err("apigatewayv2:CreateIntegration"))?;
        Ok(out.integration_id().unwrap_or_default().to_owned())
    }

    async fn create_route(
        &self,
        aws: &Aws,
        id: &str,
        key: &str,
        integration: &str,
    ) -> Result<(), DeployError> {
        aws.apigw2
            .create_route()
            .api_id(id)
            .route_key(key)
            .target(format!("integrations/{integration}"))
            .send()
            .await
            .map_err(aws_err("apigatewayv2:CreateRoute"))?;
        Ok(())
    }

    /// Reads what may differ of an API.
    async fn detail(&self, aws: &Aws, ctx: &mut Ctx, id: &str) -> Result<Detail, DeployError> {
        ctx.read("apigatewayv2:GetApi");
        let api = aws
            .apigw2
            .get_api()
            .api_id(id)
            .send()
            .await
            .map_err(aws_err("apigatewayv2:GetApi"))?;
        ctx.read("apigatewayv2:GetIntegrations");
        let integrations = aws
            .apigw2
            .get_integrations()
            .api_id(id)
            .send()
            .await
            .map_err(aws_err("apigatewayv2:GetIntegrations"))?;
        ctx.read("apigatewayv2:GetRoutes");
        let routes = aws
            .apigw2
            .get_routes()
            .api_id(id)
            .send()
            .await
            .map_err(aws_err("apigatewayv2:GetRoutes"))?;
        Ok(Detail {
            selection: api.route_selection_expression().map(str::to_owned),
            integration: integrations
                .items()
                .iter()
                .find(|i| i.integration_type() == Some(&IntegrationType::AwsProxy))
                .map(|i| {
                    (
                        i.integration_id().unwrap_or_default().to_owned(),
                        i.integration_uri().unwrap_or_default().to_owned(),
                    )
                }),
            routes: routes
                .items()
                .iter()
                .filter_map(|r| {
                    Some((
                        r.route_key()?.to_owned(),
                        r.route_id()?.to_owned(),
                        r.target().map(str::to_owned),
                    ))
                })
                .collect(),
        })
    }

    async fn create_stage(&self, aws: &Aws, id: &str) -> Result<(), DeployError> {
        apigw2::create_stage(aws, id, &self.cfg.stage, &self.cfg.function).await
    }
}

impl WebSocketApi<'_> {
    /// The writes that bring an existing API's selection expression,
    /// integration and routes to what is wanted.
    fn plan_sync(&self, id: &str, want: &Want, d: &Detail, region: &str) -> Vec<Step<Act>> {
        let mut s = Vec::new();
        if d.selection.as_deref() != Some(want.selection.as_str()) {
            s.push(Step::new(
                format!("websocket api {id}"),
                "update",
                format!("route selection {}", want.selection),
                "apigatewayv2:UpdateApi",
                Act::UpdateSelection,
            ));
        }
        let uri = integration_uri(region, &self.function_arn);
        let target = match &d.integration {
            Some((iid, u)) => {
                if *u != uri {
                    s.push(Step::new(
                        format!("integration {iid} of {id}"),
                        "update",
                        "to the function",
                        "apigatewayv2:UpdateIntegration",
                        Act::UpdateIntegration(iid.clone()),
                    ));
                }
                Some(format!("integrations/{iid}"))
            }
            None => {
                s.push(Step::new(
                    format!("integration of {id}"),
                    "create",
                    "AWS_PROXY to the function",
                    "apigatewayv2:CreateIntegration",
                    Act::Integration,
                ));
                None
            }
        };
        for key in &want.keys {
            match d.routes.iter().find(|r| r.0 == *key) {
                Some((_, _, t)) if t.is_some() && *t == target => {}
                Some((_, rid, _)) => s.push(Step::new(
                    format!("route {key} of {id}"),
                    "update",
                    "to the function",
                    "apigatewayv2:UpdateRoute",
                    Act::UpdateRoute(rid.clone()),
                )),
                None => s.push(Step::new(
                    format!("route {key} of {id}"),
                    "create",
                    "",
                    "apigatewayv2:CreateRoute",
                    Act::Route(key.clone()),
                )),
            }
        }
        for (key, rid, _) in &d.routes {
            if !want.keys.contains(key) {
                s.push(Step::new(
                    format!("route {key} of {id}"),
                    "delete",
                    "no handler any more",
                    "apigatewayv2:DeleteRoute",
                    Act::DeleteRoute(rid.clone()),
                ));
            }
        }
        s
    }
}

/// The region of an ARN (`arn:aws:lambda:REGION:…`).
fn region_of(arn: &str) -> &str {
    arn.split(':').nth(3).unwrap_or("us-east-1")
}

impl Resource for WebSocketApi<'_> {
    type Current = Vec<Found>;
    type Act = Act;

    async fn read(&self, aws: &Aws, ctx: &mut Ctx) -> Result<Vec<Found>, DeployError> {
        let mut found: Vec<Found> =
            apigw2::tagged_apis(aws, ctx, &ProtocolType::Websocket, &self.cfg.function)
                .await?
                .into_iter()
                .map(|a| Found {
                    id: a.id,
                    definition: a.definition,
                    stage: false,
                    detail: None,
                })
                .collect();
        if self.want.is_some()
            && let Some(first) = found.first_mut()
        {
            first.stage = apigw2::stage_exists(aws, ctx, &first.id, &self.cfg.stage).await?;
            let current = self
                .want
                .as_ref()
                .is_some_and(|w| first.definition.as_deref() == Some(w.hash.as_str()));
            if !(current && first.stage) {
                let id = first.id.clone();
                first.detail = Some(self.detail(aws, ctx, &id).await?);
            }
        }
        Ok(found)
    }

    fn adopt(&mut self, current: &Vec<Found>) {
        if self.want.is_some() {
            self.id = current.first().map(|f| f.id.clone());
            self.integration = current
                .first()
                .and_then(|f| f.detail.as_ref())
                .and_then(|d| d.integration.as_ref())
                .map(|(i, _)| i.clone());
        }
    }

    fn plan(&self, current: &Vec<Found>) -> Result<Vec<Step<Act>>, DeployError> {
        let delete = |f: &Found, why: &str| {
            Step::new(
                format!("websocket api {}", f.id),
                "delete",
                why.to_owned(),
                "apigatewayv2:DeleteApi",
                Act::Delete(f.id.clone()),
            )
        };
        let Some(want) = &self.want else {
            return Ok(current.iter().map(|f| delete(f, "")).collect());
        };
        let name = current
            .first()
            .map_or_else(|| api_name(self.cfg), |f| f.id.clone());
        let permit = Step::new(
            format!("permission lambada-ws-{name}"),
            "create",
            "API Gateway may invoke the function from this API",
            "lambda:AddPermission",
            Act::Permit,
        );
        let stage = Step::new(
            format!("stage {} of {name}", self.cfg.stage),
            "create",
            format!("auto-deployed, definition sha256 {}", &want.hash[..12]),
            "apigatewayv2:CreateStage",
            Act::Stage,
        );
        let mut steps = match current.first() {
            None => {
                let mut s = vec![
                    Step::new(
                        format!("websocket api {}", api_name(self.cfg)),
                        "create",
                        format!("route selection {}, tagged for the app", want.selection),
                        "apigatewayv2:CreateApi",
                        Act::Create,
                    ),
                    Step::new(
                        format!("integration of {}", api_name(self.cfg)),
                        "create",
                        "AWS_PROXY to the function",
                        "apigatewayv2:CreateIntegration",
                        Act::Integration,
                    ),
                ];
                s.extend(want.keys.iter().map(|k| {
                    Step::new(
                        format!("route {k}"),
                        "create",
                        "",
                        "apigatewayv2:CreateRoute",
                        Act::Route(k.clone()),
                    )
                }));
                s.push(permit);
                s.push(stage);
                s
            }
            Some(f) if f.definition.as_deref() == Some(want.hash.as_str()) && f.stage => Vec::new(),
            Some(f) => {
                let detail = f.detail.clone().unwrap_or_default();
                let mut s = self.plan_sync(&f.id, want, &detail, region_of(&self.function_arn));
                if !f.stage {
                    s.push(permit);
                    s.push(stage);
                }
                s.push(Step::new(
                    format!("websocket api {}", f.id),
                    "tag",
                    format!("definition sha256 {}", &want.hash[..12]),
                    "apigatewayv2:TagResource",
                    Act::Tag,
                ));
                s
            }
        };
        steps.extend(
            current
                .iter()
                .skip(1)
                .map(|f| delete(f, "a second WebSocket API of this app")),
        );
        Ok(steps)
    }

    async fn apply(&mut self, aws: &Aws, _ctx: &mut Ctx, act: &Act) -> Result<(), DeployError> {
        match act {
            Act::Create => {
                let want = self.want()?.clone();
                let out = aws
                    .apigw2
                    .create_api()
                    .name(api_name(self.cfg))
                    .protocol_type(ProtocolType::Websocket)
                    .route_selection_expression(&want.selection)
                    .description(format!(
                        "{} ({MARKER} {})",
                        api_name(self.cfg),
                        self.cfg.function
                    ))
                    .tags(TAG, &self.cfg.function)
                    .tags(HASH_TAG, &want.hash)
                    .send()
                    .await
                    .map_err(aws_err("apigatewayv2:CreateApi"))?;
                self.id = out.api_id().map(str::to_owned);
            }
            Act::Integration => {
                let id = self.id()?;
                self.integration = Some(self.create_integration(aws, &id).await?);
            }
            Act::Route(key) => {
                let id = self.id()?;
                let integration = match self.integration.clone() {
                    Some(i) => i,
                    None => {
                        let i = self.create_integration(aws, &id).await?;
                        self.integration = Some(i.clone());
                        i
                    }
                };
                self.create_route(aws, &id, key, &integration).await?;
            }
            Act::UpdateSelection => {
                let id = self.id()?;
                aws.apigw2
                    .update_api()
                    .api_id(&id)
                    .route_selection_expression(&self.want()?.selection)
                    .send()
                    .await
                    .map_err(aws_err("apigatewayv2:UpdateApi"))?;
            }
            Act::UpdateIntegration(iid) => {
                let id = self.id()?;
                aws.apigw2
                    .update_integration()
                    .api_id(&id)
                    .integration_id(iid)
                    .integration_uri(integration_uri(&aws.region, &self.function_arn))
                    .send()
                    .await
                    .map_err(aws_err("apigatewayv2:UpdateIntegration"))?;
            }
            Act::UpdateRoute(rid) => {
                let id = self.id()?;
                let integration = self.integration.clone().unwrap_or_default();
                aws.apigw2
                    .update_route()
                    .api_id(&id)
                    .route_id(rid)
                    .target(format!("integrations/{integration}"))
                    .send()
                    .await
                    .map_err(aws_err("apigatewayv2:UpdateRoute"))?;
            }
            Act::DeleteRoute(rid) => {
                let id = self.id()?;
                gone(
                    aws.apigw2
                        .delete_route()
                        .api_id(&id)
                        .route_id(rid)
                        .send()
                        .await,
                    "apigatewayv2:DeleteRoute",
                )?;
            }
            Act::Permit => {
                let id = self.id()?;
                let account = self.function_arn.split(':').nth(4).unwrap_or("*");
                permit_api_gateway(
                    aws,
                    &self.cfg.function,
                    format!("lambada-ws-{id}"),
                    format!("arn:aws:execute-api:{}:{account}:{id}/*", aws.region),
                )
                .await?;
            }
            Act::Stage => {
                let id = self.id()?;
                self.create_stage(aws, &id).await?;
            }
            Act::Tag => {
                let id = self.id()?;
                let hash = self.want()?.hash.clone();
                aws.apigw2
                    .tag_resource()
                    .resource_arn(format!("arn:aws:apigateway:{}::/apis/{id}", aws.region))
                    .tags(HASH_TAG, hash)
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

/// Converges the app's WebSocket API (none when `m` has no WebSocket
/// handlers); returns its `wss://` URL.
pub(super) async fn deploy(
    aws: &Aws,
    ctx: &mut Ctx,
    cfg: &Config,
    m: &Manifest,
    function_arn: &str,
) -> Result<Option<String>, DeployError> {
    let want = Want::of(m, cfg, function_arn);
    if want.is_some() {
        ctx.step("websocket api");
    }
    let mut api = WebSocketApi::new(cfg, want, function_arn);
    super::door::converge(&mut api, aws, ctx, None).await?;
    Ok(api.url(&aws.region))
}

/// Deletes the app's WebSocket APIs.
pub(super) async fn remove(aws: &Aws, ctx: &mut Ctx, cfg: &Config) -> Result<(), DeployError> {
    let mut api = WebSocketApi::new(cfg, None, "");
    super::door::converge(&mut api, aws, ctx, None).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(definition: Option<&str>, stage: bool) -> Found {
        Found {
            id: "a".into(),
            definition: definition.map(str::to_owned),
            stage,
            detail: None,
        }
    }

    fn acts(plan: Vec<Step<Act>>) -> Vec<Act> {
        plan.into_iter().map(|s| s.act).collect()
    }

    #[test]
    fn plans_from_what_is_there() {
        let cfg = crate::config::tests::config("app");
        let want = Want {
            selection: "$request.body.action".into(),
            keys: vec!["$connect".into(), "send".into()],
            hash: "0123456789abcdef".into(),
        };
        let api = WebSocketApi::new(&cfg, Some(want), "arn:aws:lambda:r:1:function:app");
        assert_eq!(
            acts(api.plan(&vec![]).unwrap()),
            [
                Act::Create,
                Act::Integration,
                Act::Route("$connect".into()),
                Act::Route("send".into()),
                Act::Permit,
                Act::Stage
            ]
        );
        assert!(
            api.plan(&vec![found(Some("0123456789abcdef"), true)])
                .unwrap()
                .is_empty()
        );
        // Another definition: only what differs.
        let uri = integration_uri("r", "arn:aws:lambda:r:1:function:app");
        let mut changed = found(Some("old"), true);
        changed.detail = Some(Detail {
            selection: Some("$request.body.type".into()),
            integration: Some(("i".into(), uri)),
            routes: vec![
                (
                    "$connect".into(),
                    "r1".into(),
                    Some("integrations/i".into()),
                ),
                ("gone".into(), "r2".into(), Some("integrations/i".into())),
            ],
        });
        assert_eq!(
            acts(api.plan(&vec![changed]).unwrap()),
            [
                Act::UpdateSelection,
                Act::Route("send".into()),
                Act::DeleteRoute("r2".into()),
                Act::Tag
            ]
        );
        // An interrupted creation: the stage is missing.
        assert_eq!(
            acts(
                api.plan(&vec![found(Some("0123456789abcdef"), false)])
                    .unwrap()
            ),
            [
                Act::UpdateSelection,
                Act::Integration,
                Act::Route("$connect".into()),
                Act::Route("send".into()),
                Act::Permit,
                Act::Stage,
                Act::Tag
            ]
        );
        let gone = WebSocketApi::new(&cfg, None, "");
        assert_eq!(
            acts(gone.plan(&vec![found(None, true)]).unwrap()),
            [Act::Delete("a".into())]
        );
    }
}
