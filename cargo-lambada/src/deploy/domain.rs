//! A custom domain in front of the API (`domain`, `certificate_arn`,
//! `base_path`): the regional domain name (created when missing, tagged
//! for the app) and the mapping of the base path to the API's stage, a
//! base path mapping for a REST API, an API mapping for an HTTP API.
//!
//! A domain that exists already (made by other tooling, or shared with
//! other apps) is used as it is: only the app's mapping is added, and only
//! a domain the app created is deleted with it, once no mapping is left. A
//! base path mapped to an API that is not the app's is refused before any
//! write. DNS is left to the owner: deploy prints the regional target to
//! point the name at.
//!
//! | read back | plan |
//! |---|---|
//! | no domain | create it, map the base path |
//! | the domain, the base path mapped to the API | nothing |
//! | the domain, the base path free | map it |
//! | the base path mapped to another API | refused |
//! | nothing wanted | unmap the base path; delete the domain if the app made it and nothing else is mapped |

use super::door::{Resource, Step, gone, not_found};
use super::{Aws, Ctx, DeployError, TAG, aws_err};
use crate::config::Config;

/// Which API Gateway the domain's mapping lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flavor {
    /// Base path mappings (API Gateway v1), to a REST API's stage.
    Rest,
    /// API mappings (API Gateway v2), to an HTTP API's `$default` stage.
    Http,
}

/// The app's mapping on one domain.
pub(super) struct CustomDomain<'a> {
    cfg: &'a Config,
    name: String,
    flavor: Flavor,
    base_path: String,
    /// The certificate and the API to map; `None` unmaps.
    want: Option<(String, String)>,
    /// The name to point DNS at, once known.
    pub target: Option<String>,
    /// Keep the domain when unmapping (the app maps another base path on
    /// it): deleting and re-creating it would change its DNS target.
    keep: bool,
}

/// The domain read back.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Found {
    pub exists: bool,
    /// Tagged for the app.
    pub ours: bool,
    pub target: Option<String>,
    /// `(base path, API id, mapping id)`; the root is the empty path.
    pub mappings: Vec<(String, String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Act {
    Create,
    Map,
    Unmap(String),
    Delete,
}

impl<'a> CustomDomain<'a> {
    /// The mapping of `base_path` on `name` to API `api` (with
    /// `certificate`), or its removal (`want: None`).
    pub fn new(
        cfg: &'a Config,
        name: &str,
        base_path: &str,
        flavor: Flavor,
        want: Option<(String, String)>,
    ) -> CustomDomain<'a> {
        CustomDomain {
            cfg,
            name: name.to_owned(),
            flavor,
            base_path: base_path.to_owned(),
            want,
            target: None,
            keep: false,
        }
    }

    /// Unmaps without deleting the domain.
    pub fn keeping_the_domain(mut self) -> Self {
        self.keep = true;
        self
    }

    /// The domain's mappings as `(base path, API id, mapping id)`;
    /// `None` when the domain does not exist.
    async fn mappings(
        &self,
        aws: &Aws,
        ctx: &mut Ctx,
    ) -> Result<Option<Vec<(String, String, String)>>, DeployError> {
        match self.flavor {
            Flavor::Rest => {
                ctx.read("apigateway:GetBasePathMappings");
                let out = match aws
                    .apigw
                    .get_base_path_mappings()
                    .domain_name(&self.name)
                    .limit(500)
                    .send()
                    .await
                {
                    Ok(o) => o,
                    Err(e) if not_found(&e) => return Ok(None),
                    Err(e) => return Err(aws_err("apigateway:GetBasePathMappings")(e)),
                };
                Ok(Some(
                    out.items()
                        .iter()
                        .map(|m| {
                            let path = m.base_path().unwrap_or_default();
                            let path = if path == "(none)" { "" } else { path };
                            (
                                path.to_owned(),
                                m.rest_api_id().unwrap_or_default().to_owned(),
                                path.to_owned(),
                            )
                        })
                        .collect(),
                ))
            }
            Flavor::Http => {
                ctx.read("apigatewayv2:GetApiMappings");
                let out = match aws
                    .apigw2
                    .get_api_mappings()
                    .domain_name(&self.name)
                    .max_results("500")
                    .send()
                    .await
                {
                    Ok(o) => o,
                    Err(e) if not_found(&e) => return Ok(None),
                    Err(e) => return Err(aws_err("apigatewayv2:GetApiMappings")(e)),
                };
                Ok(Some(
                    out.items()
                        .iter()
                        .map(|m| {
                            (
                                m.api_mapping_key().unwrap_or_default().to_owned(),
                                m.api_id().unwrap_or_default().to_owned(),
                                m.api_mapping_id().unwrap_or_default().to_owned(),
                            )
                        })
                        .collect(),
                ))
            }
        }
    }

    fn stage(&self) -> String {
        match self.flavor {
            Flavor::Rest => self.cfg.stage.clone(),
            Flavor::Http => super::http_api::STAGE.to_owned(),
        }
    }
}

impl Resource for CustomDomain<'_> {
    type Current = Found;
    type Act = Act;

    async fn read(&self, aws: &Aws, ctx: &mut Ctx) -> Result<Found, DeployError> {
        // The mappings first: when the app's is there, the domain exists
        // and nothing else needs reading (one read for an unchanged app);
        // whose the domain is matters only to a removal.
        let mut found = Found::default();
        let Some(mappings) = self.mappings(aws, ctx).await? else {
            return Ok(found);
        };
        found.exists = true;
        found.mappings = mappings;
        let ours_mapped = self.want.as_ref().is_some_and(|(_, api)| {
            found
                .mappings
                .iter()
                .any(|(p, a, _)| *p == self.base_path && a == api)
        });
        if ours_mapped {
            return Ok(found);
        }
        let (ours, target) = match self.flavor {
            Flavor::Rest => {
                ctx.read("apigateway:GetDomainName");
                match aws
                    .apigw
                    .get_domain_name()
                    .domain_name(&self.name)
                    .send()
                    .await
                {
                    Ok(d) => (
                        d.tags()
                            .is_some_and(|t| t.get(TAG) == Some(&self.cfg.function)),
                        d.regional_domain_name().map(str::to_owned),
                    ),
                    Err(e) if not_found(&e) => return Ok(Found::default()),
                    Err(e) => return Err(aws_err("apigateway:GetDomainName")(e)),
                }
            }
            Flavor::Http => {
                ctx.read("apigatewayv2:GetDomainName");
                match aws
                    .apigw2
                    .get_domain_name()
                    .domain_name(&self.name)
                    .send()
                    .await
                {
                    Ok(d) => (
                        d.tags()
                            .is_some_and(|t| t.get(TAG) == Some(&self.cfg.function)),
                        d.domain_name_configurations()
                            .first()
                            .and_then(|c| c.api_gateway_domain_name())
                            .map(str::to_owned),
                    ),
                    Err(e) if not_found(&e) => return Ok(Found::default()),
                    Err(e) => return Err(aws_err("apigatewayv2:GetDomainName")(e)),
                }
            }
        };
        found.ours = ours;
        found.target = target;
        Ok(found)
    }

    fn adopt(&mut self, current: &Found) {
        self.target = current.target.clone();
    }

    fn plan(&self, current: &Found) -> Result<Vec<Step<Act>>, DeployError> {
        let name = &self.name;
        let path = if self.base_path.is_empty() {
            "/".to_owned()
        } else {
            format!("/{}", self.base_path)
        };
        let mapped = current
            .mappings
            .iter()
            .find(|(p, _, _)| *p == self.base_path);
        let Some((_, api)) = &self.want else {
            let mut steps = Vec::new();
            if let Some((_, _, id)) = mapped {
                steps.push(Step::new(
                    format!("domain {name}"),
                    "unmap",
                    path,
                    match self.flavor {
                        Flavor::Rest => "apigateway:DeleteBasePathMapping",
                        Flavor::Http => "apigatewayv2:DeleteApiMapping",
                    },
                    Act::Unmap(id.clone()),
                ));
            }
            let others = current.mappings.len() - usize::from(mapped.is_some());
            if current.exists && current.ours && others == 0 && !self.keep {
                steps.push(Step::new(
                    format!("domain {name}"),
                    "delete",
                    "made by this app, nothing else mapped",
                    match self.flavor {
                        Flavor::Rest => "apigateway:DeleteDomainName",
                        Flavor::Http => "apigatewayv2:DeleteDomainName",
                    },
                    Act::Delete,
                ));
            }
            return Ok(steps);
        };
        let map = Step::new(
            format!("domain {name}"),
            "map",
            format!("{path} → {api} ({})", self.stage()),
            match self.flavor {
                Flavor::Rest => "apigateway:CreateBasePathMapping",
                Flavor::Http => "apigatewayv2:CreateApiMapping",
            },
            Act::Map,
        );
        if !current.exists {
            return Ok(vec![
                Step::new(
                    format!("domain {name}"),
                    "create",
                    "regional, TLS 1.2",
                    match self.flavor {
                        Flavor::Rest => "apigateway:CreateDomainName",
                        Flavor::Http => "apigatewayv2:CreateDomainName",
                    },
                    Act::Create,
                ),
                map,
            ]);
        }
        match mapped {
            Some((_, a, _)) if a == api => Ok(Vec::new()),
            Some((_, other, _)) => Err(DeployError::Other(format!(
                "the base path {path} of domain {name} is mapped to API {other}, which is not this app's: remove that mapping, or set another `base_path`"
            ))),
            None => Ok(vec![map]),
        }
    }

    async fn apply(&mut self, aws: &Aws, _ctx: &mut Ctx, act: &Act) -> Result<(), DeployError> {
        let (certificate, api) = self.want.clone().unwrap_or_default();
        let function = &self.cfg.function;
        match (self.flavor, act) {
            (Flavor::Rest, Act::Create) => {
                let out = aws
                    .apigw
                    .create_domain_name()
                    .domain_name(&self.name)
                    .regional_certificate_arn(certificate)
                    .endpoint_configuration(
                        aws_sdk_apigateway::types::EndpointConfiguration::builder()
                            .types(aws_sdk_apigateway::types::EndpointType::Regional)
                            .build(),
                    )
                    .security_policy(aws_sdk_apigateway::types::SecurityPolicy::Tls12)
                    .tags(TAG, function)
                    .send()
                    .await
                    .map_err(aws_err("apigateway:CreateDomainName"))?;
                self.target = out.regional_domain_name().map(str::to_owned);
            }
            (Flavor::Rest, Act::Map) => {
                let mut req = aws
                    .apigw
                    .create_base_path_mapping()
                    .domain_name(&self.name)
                    .rest_api_id(api)
                    .stage(self.stage());
                if !self.base_path.is_empty() {
                    req = req.base_path(&self.base_path);
                }
                req.send()
                    .await
                    .map_err(aws_err("apigateway:CreateBasePathMapping"))?;
            }
            (Flavor::Rest, Act::Unmap(path)) => {
                let path = if path.is_empty() { "(none)" } else { path };
                gone(
                    aws.apigw
                        .delete_base_path_mapping()
                        .domain_name(&self.name)
                        .base_path(path)
                        .send()
                        .await,
                    "apigateway:DeleteBasePathMapping",
                )?;
            }
            (Flavor::Rest, Act::Delete) => {
                gone(
                    aws.apigw
                        .delete_domain_name()
                        .domain_name(&self.name)
                        .send()
                        .await,
                    "apigateway:DeleteDomainName",
                )?;
            }
            (Flavor::Http, Act::Create) => {
                let out = aws
                    .apigw2
                    .create_domain_name()
                    .domain_name(&self.name)
                    .domain_name_configurations(
                        aws_sdk_apigatewayv2::types::DomainNameConfiguration::builder()
                            .certificate_arn(certificate)
                            .endpoint_type(aws_sdk_apigatewayv2::types::EndpointType::Regional)
                            .security_policy(aws_sdk_apigatewayv2::types::SecurityPolicy::Tls12)
                            .build(),
                    )
                    .tags(TAG, function)
                    .send()
                    .await
                    .map_err(aws_err("apigatewayv2:CreateDomainName"))?;
                self.target = out
                    .domain_name_configurations()
                    .first()
                    .and_then(|c| c.api_gateway_domain_name())
                    .map(str::to_owned);
            }
            (Flavor::Http, Act::Map) => {
                let mut req = aws
                    .apigw2
                    .create_api_mapping()
                    .domain_name(&self.name)
                    .api_id(api)
                    .stage(self.stage());
                if !self.base_path.is_empty() {
                    req = req.api_mapping_key(&self.base_path);
                }
                req.send()
                    .await
                    .map_err(aws_err("apigatewayv2:CreateApiMapping"))?;
            }
            (Flavor::Http, Act::Unmap(id)) => {
                gone(
                    aws.apigw2
                        .delete_api_mapping()
                        .domain_name(&self.name)
                        .api_mapping_id(id)
                        .send()
                        .await,
                    "apigatewayv2:DeleteApiMapping",
                )?;
            }
            (Flavor::Http, Act::Delete) => {
                gone(
                    aws.apigw2
                        .delete_domain_name()
                        .domain_name(&self.name)
                        .send()
                        .await,
                    "apigatewayv2:DeleteDomainName",
                )?;
            }
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
    fn plans_from_what_is_there() {
        let cfg = crate::config::tests::config("app");
        let want = Some((
            "arn:aws:acm:r:1:certificate/c".to_owned(),
            "api1".to_owned(),
        ));
        let d = CustomDomain::new(&cfg, "api.example.com", "v1", Flavor::Rest, want.clone());
        assert_eq!(
            acts(d.plan(&Found::default()).unwrap()),
            [Act::Create, Act::Map]
        );
        let mut there = Found {
            exists: true,
            ours: false,
            target: None,
            mappings: vec![("other".into(), "x".into(), "other".into())],
        };
        // Someone else's domain: only the mapping is added.
        assert_eq!(acts(d.plan(&there).unwrap()), [Act::Map]);
        there
            .mappings
            .push(("v1".into(), "api1".into(), "v1".into()));
        assert!(d.plan(&there).unwrap().is_empty());
        there.mappings[1].1 = "stranger".into();
        let e = d.plan(&there).unwrap_err().to_string();
        assert!(e.contains("/v1") && e.contains("stranger"), "{e}");
        // Removal keeps the domain while others use it, and a foreign one
        // always.
        there.mappings[1].1 = "api1".into();
        let gone = CustomDomain::new(&cfg, "api.example.com", "v1", Flavor::Rest, None);
        assert_eq!(acts(gone.plan(&there).unwrap()), [Act::Unmap("v1".into())]);
        there.ours = true;
        there.mappings.remove(0);
        assert_eq!(
            acts(gone.plan(&there).unwrap()),
            [Act::Unmap("v1".into()), Act::Delete]
        );
        assert!(gone.plan(&Found::default()).unwrap().is_empty());
    }
}
