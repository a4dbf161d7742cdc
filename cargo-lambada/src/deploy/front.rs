//! Which front door is in place and which is wanted, and the moves between
//! them: the old domain mapping and the old front door are taken down
//! before the wanted ones converge, so switching `api` (or the domain)
//! between deploys converges like any other change, the function kept.
//!
//! What an earlier deploy put in front of the API function is read from
//! the function's own tags (`lambada:api`, `lambada:domain`, read with the
//! function anyway): a deploy asks only the services it has business
//! with. A function without those tags comes from a cargo-lambada that
//! knew REST APIs only.

use std::collections::BTreeMap;

use serde_json::json;

use super::domain::{CustomDomain, Flavor};
use super::door::converge;
use super::function::{API_TAG, DOMAIN_TAG, GetFunction};
use super::function_url::FunctionUrl;
use super::http_api::HttpApi;
use super::rest::RestApi;
use super::{Aws, Ctx, DeployError};
use crate::config::{ApiKind, Config};
use crate::manifest::{Manifest, TriggerEntry, TriggerKind};
use crate::package::{self, Dialect};

/// What is in front of the API function now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Previous {
    /// The front door; `None` when the function did not exist.
    pub kind: Option<ApiKind>,
    /// The custom domain and base path.
    pub domain: Option<(String, String)>,
}

impl Previous {
    /// Read from the API function's tags.
    pub fn of(function: Option<&GetFunction>) -> Previous {
        let Some(f) = function else {
            return Previous::default();
        };
        let tags = f.tags();
        let tag = |k: &str| tags.and_then(|t| t.get(k)).cloned();
        Previous {
            kind: Some(
                tag(API_TAG)
                    .as_deref()
                    .and_then(ApiKind::parse)
                    .unwrap_or(ApiKind::Rest),
            ),
            domain: tag(DOMAIN_TAG)
                .and_then(|d| d.split_once('/').map(|(n, p)| (n.to_owned(), p.to_owned()))),
        }
    }
}

/// What the front door came to.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    /// The API's id (REST and HTTP APIs).
    pub api_id: Option<String>,
    /// The URL the app answers at.
    pub url: Option<String>,
    /// Where the custom domain's DNS record should point.
    pub domain_target: Option<String>,
}

/// The domain flavour of a front door, if it can have a domain.
fn flavor_of(kind: ApiKind) -> Option<Flavor> {
    match kind {
        ApiKind::Rest => Some(Flavor::Rest),
        ApiKind::Http => Some(Flavor::Http),
        ApiKind::Url | ApiKind::None => None,
    }
}

/// The definition of the app for `kind`, integrated with the API function
/// and the authorizer functions.
fn definition(
    aws: &Aws,
    cfg: &Config,
    m: &Manifest,
    function_arn: &str,
    authorizer_arns: &BTreeMap<String, String>,
) -> Result<Vec<u8>, DeployError> {
    let uri = package::invocation_uri(&aws.region, function_arn);
    let authorizer_uri = |t: &TriggerEntry| {
        let arn = authorizer_arns.get(&t.handler).map_or("", String::as_str);
        json!(package::invocation_uri(&aws.region, arn))
    };
    let doc = package::openapi(cfg, m, Dialect::of(cfg.api), json!(uri), &authorizer_uri)?;
    serde_json::to_vec(&doc).map_err(|e| DeployError::Other(e.to_string()))
}

/// Converges the front door and the domain to what `cfg` wants, taking
/// down what `previous` had that is no longer wanted. `fresh`: the API
/// function did not exist before this deploy, so nothing stands in front
/// of it yet (deploy creates the function before its front door, and
/// `remove` deletes the front door before the function).
#[allow(clippy::too_many_arguments)]
pub(super) async fn deploy(
    aws: &Aws,
    ctx: &mut Ctx,
    cfg: &Config,
    m: &Manifest,
    function_arn: &str,
    authorizer_arns: &BTreeMap<String, String>,
    previous: &Previous,
    fresh: bool,
) -> Result<Outcome, DeployError> {
    let wanted_domain = cfg
        .domain
        .as_ref()
        .map(|d| (d.name.clone(), d.base_path.clone()));
    let moved = previous.kind != Some(cfg.api) || previous.domain != wanted_domain;
    if let (Some((name, path)), Some(kind), true) = (&previous.domain, previous.kind, moved)
        && let Some(flavor) = flavor_of(kind)
    {
        ctx.step(&format!("domain: {name} (no longer this front door's)"));
        let mut d = CustomDomain::new(cfg, name, path, flavor, None);
        if wanted_domain.as_ref().is_some_and(|(n, _)| n == name)
            && flavor_of(cfg.api) == Some(flavor)
        {
            d = d.keeping_the_domain();
        }
        converge(&mut d, aws, ctx, None).await?;
    }
    if let Some(old) = previous.kind.filter(|k| *k != cfg.api) {
        ctx.step(&format!(
            "api: {old} → {}: taking down the {old} front door",
            cfg.api
        ));
        teardown(aws, ctx, cfg, old).await?;
    }
    let mut out = Outcome::default();
    ctx.step(&format!(
        "api: {} ({} routes{})",
        cfg.api,
        m.routes.iter().filter(|r| r.kind == "http").count(),
        if cfg.api == ApiKind::Rest {
            format!(", stage {}", cfg.stage)
        } else {
            String::new()
        }
    ));
    match cfg.api {
        ApiKind::Rest => {
            let body = definition(aws, cfg, m, function_arn, authorizer_arns)?;
            let mut api = RestApi::new(cfg, Some(body), function_arn);
            converge(&mut api, aws, ctx, fresh.then(Vec::new)).await?;
            out.url = api.url(&aws.region);
            out.api_id = api.id;
        }
        ApiKind::Http => {
            let streaming: Vec<&str> = m
                .routes
                .iter()
                .filter(|r| r.streams)
                .map(|r| r.handler.as_str())
                .collect();
            if !streaming.is_empty() {
                ctx.step(&format!(
                    "note: HTTP APIs cannot stream responses: {} answer whole (up to 6 MB); `api = \"url\"` or `\"rest\"` streams them",
                    streaming.join(", ")
                ));
            }
            let body = definition(aws, cfg, m, function_arn, authorizer_arns)?;
            let mut api = HttpApi::new(cfg, Some(body), function_arn);
            converge(&mut api, aws, ctx, fresh.then(Vec::new)).await?;
            out.url = api.url(&aws.region);
            out.api_id = api.id;
        }
        ApiKind::Url => {
            let cors = m
                .cors_with(cfg.cors.as_ref())?
                .and_then(|c| package::native_cors(&c, m));
            let mut url = FunctionUrl::new(cfg, Some((cors, m.streams())));
            converge(&mut url, aws, ctx, fresh.then_some(None)).await?;
            out.url = url.url;
        }
        ApiKind::None => {}
    }
    if let (Some(d), Some(flavor), Some(api)) = (&cfg.domain, flavor_of(cfg.api), &out.api_id) {
        ctx.step(&format!("domain: {}", d.name));
        let mut domain = CustomDomain::new(
            cfg,
            &d.name,
            &d.base_path,
            flavor,
            Some((d.certificate_arn.clone(), api.clone())),
        );
        converge(&mut domain, aws, ctx, None).await?;
        out.domain_target = domain.target;
        out.url = Some(d.url());
    }
    Ok(out)
}

/// Takes down the `kind` front door of the app (whatever of it exists).
pub(super) async fn teardown(
    aws: &Aws,
    ctx: &mut Ctx,
    cfg: &Config,
    kind: ApiKind,
) -> Result<(), DeployError> {
    match kind {
        ApiKind::Rest => converge(&mut RestApi::new(cfg, None, ""), aws, ctx, None).await,
        ApiKind::Http => converge(&mut HttpApi::new(cfg, None, ""), aws, ctx, None).await,
        ApiKind::Url => converge(&mut FunctionUrl::new(cfg, None), aws, ctx, None).await,
        ApiKind::None => Ok(()),
    }
}

/// Takes down the domain mapping `previous` records (or, when the function
/// is gone, the configured one), then every REST and HTTP API of the app:
/// `remove`, and `deploy` of an app left without HTTP routes. A function
/// URL goes with its function.
pub(super) async fn remove(
    aws: &Aws,
    ctx: &mut Ctx,
    cfg: &Config,
    previous: &Previous,
) -> Result<(), DeployError> {
    let domain = previous.domain.clone().or_else(|| {
        cfg.domain
            .as_ref()
            .map(|d| (d.name.clone(), d.base_path.clone()))
    });
    let kind = previous.kind.unwrap_or(cfg.api);
    if let (Some((name, path)), Some(flavor)) = (domain, flavor_of(kind)) {
        let mut d = CustomDomain::new(cfg, &name, &path, flavor, None);
        converge(&mut d, aws, ctx, None).await?;
    }
    teardown(aws, ctx, cfg, ApiKind::Rest).await?;
    teardown(aws, ctx, cfg, ApiKind::Http).await?;
    Ok(())
}

/// The ARNs of the `#[authorizer]` functions, by handler, from the
/// functions deployed (`arns` in the order of `m.triggers`).
pub(super) fn authorizer_arns(m: &Manifest, arns: &[(String, bool)]) -> BTreeMap<String, String> {
    m.triggers
        .iter()
        .zip(arns)
        .filter(|(t, _)| t.kind == TriggerKind::Authorizer)
        .map(|(t, (arn, _))| (t.handler.clone(), arn.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::door::Resource;

    #[test]
    fn functions_without_tags_stood_behind_rest_apis() {
        assert_eq!(Previous::of(None), Previous::default());
        let f = aws_sdk_lambda::operation::get_function::GetFunctionOutput::builder().build();
        assert_eq!(Previous::of(Some(&f)).kind, Some(ApiKind::Rest));
        let f = aws_sdk_lambda::operation::get_function::GetFunctionOutput::builder()
            .tags(API_TAG, "url")
            .tags(DOMAIN_TAG, "api.example.com/v1")
            .build();
        assert_eq!(
            Previous::of(Some(&f)),
            Previous {
                kind: Some(ApiKind::Url),
                domain: Some(("api.example.com".into(), "v1".into())),
            }
        );
    }

    #[test]
    fn fresh_state_of_each_door_is_nothing() {
        // `fresh` stands for "read nothing": the doors' empty states.
        let cfg = crate::config::tests::config("app");
        let rest = RestApi::new(&cfg, Some(b"{}".to_vec()), "");
        assert_eq!(rest.plan(&Vec::new()).unwrap().len(), 3);
        let url = FunctionUrl::new(&cfg, Some((None, false)));
        assert_eq!(url.plan(&None).unwrap().len(), 3);
    }
}
