//! The function URL front door (`api = "url"`, payload 2.0): the API
//! function's own HTTPS endpoint, `NONE` (public; the function decides)
//! or `AWS_IAM` (SigV4-signed callers allowed by IAM) by `url_auth`, with
//! Lambda's native CORS when the app's settings can be said that way.
//!
//! A public URL needs two statements in the function's resource policy
//! (since October 2025): `lambda:InvokeFunctionUrl` for auth type `NONE`,
//! and `lambda:InvokeFunction` through a function URL. They are added
//! before the URL configuration, which is the commit marker: a URL that
//! exists has its permissions.
//!
//! | read back | plan |
//! |---|---|
//! | no URL | permissions (public), create |
//! | the URL as wanted | nothing |
//! | another auth type or CORS | permissions added or removed, update |
//! | nothing wanted | delete the URL, remove the permissions |

use super::door::{Resource, Step, gone, not_found};
use super::{Aws, Ctx, DeployError, add_permission, aws_err};
use crate::config::{Config, UrlAuth};
use crate::package::NativeCors;

/// The statement letting anyone call the public URL.
const URL_SID: &str = "lambada-url";
/// The statement letting the URL invoke the function.
const INVOKE_SID: &str = "lambada-url-invoke";

/// The function URL of an app.
pub(super) struct FunctionUrl<'a> {
    cfg: &'a Config,
    /// Auth type, CORS and whether it streams (`RESPONSE_STREAM`); `None`
    /// removes the URL.
    want: Option<(UrlAuth, Option<NativeCors>, bool)>,
    /// The URL, once known.
    pub url: Option<String>,
}

/// The URL configuration read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Found {
    pub url: String,
    pub auth: UrlAuth,
    pub cors: Option<NativeCors>,
    /// Its invoke mode is `RESPONSE_STREAM`.
    pub streams: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Act {
    PermitUrl,
    PermitInvoke,
    Create,
    Update,
    Delete,
    Unpermit(&'static str),
}

impl<'a> FunctionUrl<'a> {
    /// The URL `cfg` wants (`cors`: the native CORS settings, when they
    /// can be said natively; whether any route streams); `None` when none
    /// is wanted.
    pub fn new(cfg: &'a Config, want: Option<(Option<NativeCors>, bool)>) -> FunctionUrl<'a> {
        FunctionUrl {
            cfg,
            want: want.map(|(cors, streams)| (cfg.url_auth, cors, streams)),
            url: None,
        }
    }

    fn invoke_mode(streams: bool) -> aws_sdk_lambda::types::InvokeMode {
        if streams {
            aws_sdk_lambda::types::InvokeMode::ResponseStream
        } else {
            aws_sdk_lambda::types::InvokeMode::Buffered
        }
    }

    fn cors(c: &NativeCors) -> aws_sdk_lambda::types::Cors {
        aws_sdk_lambda::types::Cors::builder()
            .set_allow_origins(Some(c.origins.clone()))
            .set_allow_methods(Some(c.methods.clone()))
            .set_allow_headers(Some(c.headers.clone()))
            .set_expose_headers((!c.expose_headers.is_empty()).then(|| c.expose_headers.clone()))
            .set_max_age(c.max_age.map(|a| a as i32))
            .allow_credentials(c.credentials)
            .build()
    }

    fn read_cors(c: &aws_sdk_lambda::types::Cors) -> NativeCors {
        NativeCors {
            origins: c.allow_origins().to_vec(),
            methods: c.allow_methods().to_vec(),
            headers: c.allow_headers().to_vec(),
            expose_headers: c.expose_headers().to_vec(),
            max_age: c.max_age().map(|a| a as u32),
            credentials: c.allow_credentials().unwrap_or(false),
        }
    }
}

impl Resource for FunctionUrl<'_> {
    type Current = Option<Found>;
    type Act = Act;

    async fn read(&self, aws: &Aws, ctx: &mut Ctx) -> Result<Option<Found>, DeployError> {
        ctx.read("lambda:GetFunctionUrlConfig");
        match aws
            .lambda
            .get_function_url_config()
            .function_name(&self.cfg.function)
            .send()
            .await
        {
            Ok(c) => Ok(Some(Found {
                url: c.function_url().to_owned(),
                auth: match c.auth_type().as_str() {
                    "AWS_IAM" => UrlAuth::AwsIam,
                    _ => UrlAuth::None,
                },
                cors: c
                    .cors()
                    .map(Self::read_cors)
                    .filter(|c| !c.origins.is_empty()),
                streams: c.invoke_mode()
                    == Some(&aws_sdk_lambda::types::InvokeMode::ResponseStream),
            })),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(aws_err("lambda:GetFunctionUrlConfig")(e)),
        }
    }

    fn adopt(&mut self, current: &Option<Found>) {
        if let Some(f) = current {
            self.url = Some(f.url.clone());
        }
    }

    fn plan(&self, current: &Option<Found>) -> Result<Vec<Step<Act>>, DeployError> {
        let function = &self.cfg.function;
        let permit = || {
            vec![
                Step::new(
                    format!("permission {URL_SID}"),
                    "create",
                    "anyone may call the URL (auth type NONE)",
                    "lambda:AddPermission",
                    Act::PermitUrl,
                ),
                Step::new(
                    format!("permission {INVOKE_SID}"),
                    "create",
                    "the URL may invoke the function",
                    "lambda:AddPermission",
                    Act::PermitInvoke,
                ),
            ]
        };
        let unpermit = || {
            [URL_SID, INVOKE_SID]
                .into_iter()
                .map(|sid| {
                    Step::new(
                        format!("permission {sid}"),
                        "delete",
                        "",
                        "lambda:RemovePermission",
                        Act::Unpermit(sid),
                    )
                })
                .collect::<Vec<_>>()
        };
        let Some((auth, cors, streams)) = &self.want else {
            let Some(found) = current else {
                return Ok(Vec::new());
            };
            let mut steps = vec![Step::new(
                format!("function url of {function}"),
                "delete",
                found.url.clone(),
                "lambda:DeleteFunctionUrlConfig",
                Act::Delete,
            )];
            if found.auth == UrlAuth::None {
                steps.extend(unpermit());
            }
            return Ok(steps);
        };
        let describe = format!(
            "auth {}, {}, {}",
            auth.lambda_name(),
            if cors.is_some() {
                "native CORS"
            } else {
                "no native CORS"
            },
            if *streams {
                "streamed responses"
            } else {
                "buffered responses"
            }
        );
        Ok(match current {
            None => {
                let mut steps = if *auth == UrlAuth::None {
                    permit()
                } else {
                    Vec::new()
                };
                steps.push(Step::new(
                    format!("function url of {function}"),
                    "create",
                    describe,
                    "lambda:CreateFunctionUrlConfig",
                    Act::Create,
                ));
                steps
            }
            Some(f) if f.auth == *auth && f.cors == *cors && f.streams == *streams => Vec::new(),
            Some(f) => {
                let update = Step::new(
                    format!("function url of {function}"),
                    "update",
                    describe,
                    "lambda:UpdateFunctionUrlConfig",
                    Act::Update,
                );
                match (f.auth, auth) {
                    (UrlAuth::AwsIam, UrlAuth::None) => {
                        let mut s = permit();
                        s.push(update);
                        s
                    }
                    (UrlAuth::None, UrlAuth::AwsIam) => {
                        let mut s = vec![update];
                        s.extend(unpermit());
                        s
                    }
                    _ => vec![update],
                }
            }
        })
    }

    async fn apply(&mut self, aws: &Aws, _ctx: &mut Ctx, act: &Act) -> Result<(), DeployError> {
        let function = &self.cfg.function;
        let (auth, cors, streams) = self.want.clone().unwrap_or_default();
        let auth_type = aws_sdk_lambda::types::FunctionUrlAuthType::from(auth.lambda_name());
        let cors = cors.as_ref().map(Self::cors).unwrap_or_else(|| {
            // No native CORS: an empty configuration (the function answers).
            aws_sdk_lambda::types::Cors::builder().build()
        });
        match act {
            Act::PermitUrl | Act::PermitInvoke => {
                let mut req = aws
                    .lambda
                    .add_permission()
                    .function_name(function)
                    .principal("*");
                req = if *act == Act::PermitUrl {
                    req.statement_id(URL_SID)
                        .action("lambda:InvokeFunctionUrl")
                        .function_url_auth_type(aws_sdk_lambda::types::FunctionUrlAuthType::None)
                } else {
                    req.statement_id(INVOKE_SID)
                        .action("lambda:InvokeFunction")
                        .invoked_via_function_url(true)
                };
                add_permission(req).await?;
            }
            Act::Create => {
                let out = aws
                    .lambda
                    .create_function_url_config()
                    .function_name(function)
                    .auth_type(auth_type)
                    .cors(cors)
                    .invoke_mode(Self::invoke_mode(streams))
                    .send()
                    .await
                    .map_err(aws_err("lambda:CreateFunctionUrlConfig"))?;
                self.url = Some(out.function_url().to_owned());
            }
            Act::Update => {
                let out = aws
                    .lambda
                    .update_function_url_config()
                    .function_name(function)
                    .auth_type(auth_type)
                    .cors(cors)
                    .invoke_mode(Self::invoke_mode(streams))
                    .send()
                    .await
                    .map_err(aws_err("lambda:UpdateFunctionUrlConfig"))?;
                self.url = Some(out.function_url().to_owned());
            }
            Act::Delete => gone(
                aws.lambda
                    .delete_function_url_config()
                    .function_name(function)
                    .send()
                    .await,
                "lambda:DeleteFunctionUrlConfig",
            )?,
            Act::Unpermit(sid) => gone(
                aws.lambda
                    .remove_permission()
                    .function_name(function)
                    .statement_id(*sid)
                    .send()
                    .await,
                "lambda:RemovePermission",
            )?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acts(plan: Vec<Step<Act>>) -> Vec<Act> {
        plan.into_iter().map(|s| s.act).collect()
    }

    #[test]
    fn an_app_that_streams_gets_a_response_stream_url() {
        let cfg = crate::config::tests::config("app");
        let streaming = FunctionUrl::new(&cfg, Some((None, true)));
        let found = |streams| {
            Some(Found {
                url: "https://x.lambda-url.r.on.aws/".into(),
                auth: UrlAuth::None,
                cors: None,
                streams,
            })
        };
        assert!(streaming.plan(&found(true)).unwrap().is_empty());
        assert_eq!(acts(streaming.plan(&found(false)).unwrap()), [Act::Update]);
        let buffered = FunctionUrl::new(&cfg, Some((None, false)));
        assert_eq!(acts(buffered.plan(&found(true)).unwrap()), [Act::Update]);
    }

    #[test]
    fn plans_from_what_is_there() {
        let mut cfg = crate::config::tests::config("app");
        let public = FunctionUrl::new(&cfg, Some((None, false)));
        assert_eq!(
            acts(public.plan(&None).unwrap()),
            [Act::PermitUrl, Act::PermitInvoke, Act::Create]
        );
        let found = |auth| Found {
            url: "https://x.lambda-url.r.on.aws/".into(),
            auth,
            cors: None,
            streams: false,
        };
        assert!(public.plan(&Some(found(UrlAuth::None))).unwrap().is_empty());
        assert_eq!(
            acts(public.plan(&Some(found(UrlAuth::AwsIam))).unwrap()),
            [Act::PermitUrl, Act::PermitInvoke, Act::Update]
        );
        cfg.url_auth = UrlAuth::AwsIam;
        let iam = FunctionUrl::new(&cfg, Some((None, false)));
        assert_eq!(acts(iam.plan(&None).unwrap()), [Act::Create]);
        assert_eq!(
            acts(iam.plan(&Some(found(UrlAuth::None))).unwrap()),
            [
                Act::Update,
                Act::Unpermit(URL_SID),
                Act::Unpermit(INVOKE_SID)
            ]
        );
        let gone = FunctionUrl::new(&cfg, None);
        assert_eq!(
            acts(gone.plan(&Some(found(UrlAuth::None))).unwrap()),
            [
                Act::Delete,
                Act::Unpermit(URL_SID),
                Act::Unpermit(INVOKE_SID)
            ]
        );
        assert!(gone.plan(&None).unwrap().is_empty());
    }
}
