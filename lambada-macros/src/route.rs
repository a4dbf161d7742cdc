//! `#[get("/path")]` & co.: parse → validate → model → expand.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::attr::{Errors, excerpt, sub_span};
use lambada_path::Segment;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum HttpMethod {
    Get,
    Post,
    Put,
    Delete,
    Patch,
    Head,
    Options,
}

impl HttpMethod {
    fn from_ident(s: &str) -> Option<HttpMethod> {
        Some(match s.to_ascii_uppercase().as_str() {
            "GET" => HttpMethod::Get,
            "POST" => HttpMethod::Post,
            "PUT" => HttpMethod::Put,
            "DELETE" => HttpMethod::Delete,
            "PATCH" => HttpMethod::Patch,
            "HEAD" => HttpMethod::Head,
            "OPTIONS" => HttpMethod::Options,
            _ => return None,
        })
    }
    fn variant(self) -> TokenStream {
        match self {
            HttpMethod::Get => quote!(Get),
            HttpMethod::Post => quote!(Post),
            HttpMethod::Put => quote!(Put),
            HttpMethod::Delete => quote!(Delete),
            HttpMethod::Patch => quote!(Patch),
            HttpMethod::Head => quote!(Head),
            HttpMethod::Options => quote!(Options),
        }
    }
}

/// Where an argument's value comes from.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum ArgSource {
    Path(String),
    Query(String),
    Header(String),
    Cookie(String),
    /// By type, through `FromRequestParts`.
    Parts,
    /// By type, through `FromRequest` (the last argument).
    Last,
}

struct Arg {
    ty: syn::Type,
    name: Option<syn::Ident>,
    source: ArgSource,
}

/// Everything the expansion needs, validated.
struct RouteModel {
    method: HttpMethod,
    path_lit: syn::LitStr,
    canonical: String,
    apigw: String,
    matchit: String,
    segments: Vec<Segment<'static>>,
    args: Vec<Arg>,
    is_async: bool,
    options: RouteOptions,
}

struct RouteArgs {
    method: HttpMethod,
    path: syn::LitStr,
    /// `key = value` arguments after the path, validated by [`options`].
    extra: Vec<(syn::Ident, syn::Expr)>,
}

/// Who may call the route, as the attribute says.
enum AuthArg {
    Default,
    Public,
    Named(String),
    /// `auth = path::to::authorizer`: an `#[authorizer]` function.
    Function(syn::Path),
}

/// `cors = …`: the route's own CORS setting.
enum CorsArg {
    Table,
    Off,
    /// `cors = path::to::settings`: a `fn() -> Cors`.
    Own(syn::Path),
}

/// `auth = "…"`, `scopes = […]`, `cors = …`, `tag = "…"` and `stream`.
struct RouteOptions {
    auth: AuthArg,
    scopes: Vec<String>,
    cors: CorsArg,
    /// The OpenAPI tag (default: the handler's module).
    tag: Option<String>,
    /// `stream`: the route streams whatever its return type says.
    stream: bool,
}

/// Parses `, key = value` pairs until the end of the input.
fn parse_extra(input: syn::parse::ParseStream<'_>) -> syn::Result<Vec<(syn::Ident, syn::Expr)>> {
    let mut out = Vec::new();
    while !input.is_empty() {
        input.parse::<syn::Token![,]>()?;
        if input.is_empty() {
            break;
        }
        let key: syn::Ident = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected `auth = \"name\"`, `scopes = [\"scope\"]`, `cors = …`, `tag = \"…\"` or `stream` after the path",
            )
        })?;
        if key == "stream" && (input.is_empty() || input.peek(syn::Token![,])) {
            out.push((key, syn::parse_quote!(true)));
            continue;
        }
        input.parse::<syn::Token![=]>().map_err(|_| {
            let known = ["auth", "scopes", "cors", "tag"].iter().any(|k| key == k);
            let message = if known {
                format!("expected `{key} = …`")
            } else {
                format!(
                    "unknown argument `{key}`: expected `auth`, `scopes`, `cors`, `tag` or `stream`"
                )
            };
            syn::Error::new(key.span(), message)
        })?;
        let value: syn::Expr = input.parse()?;
        out.push((key, value));
    }
    Ok(out)
}

/// Validates the `key = value` arguments, reporting every error.
fn options(extra: &[(syn::Ident, syn::Expr)], errors: &mut Errors) -> RouteOptions {
    let mut auth: Option<AuthArg> = None;
    let mut scopes: Option<Vec<String>> = None;
    let mut cors: Option<CorsArg> = None;
    let mut tag: Option<String> = None;
    let mut stream: Option<bool> = None;
    let lit_str = |e: &syn::Expr| match e {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => Some(s.clone()),
        _ => None,
    };
    for (key, value) in extra {
        match key.to_string().as_str() {
            "auth" => {
                if auth.is_some() {
                    errors.spanned(key.span(), "duplicate `auth`");
                    continue;
                }
                if let syn::Expr::Path(p) = value
                    && p.qself.is_none()
                {
                    auth = Some(AuthArg::Function(p.path.clone()));
                    continue;
                }
                let Some(lit) = lit_str(value) else {
                    errors.spanned(
                        value.span(),
                        "expected the authorizer: `auth = \"users\"` (configured), `auth = api_key` (an `#[authorizer]` function), or `auth = \"none\"` for a public route",
                    );
                    continue;
                };
                let name = lit.value();
                if name == "none" {
                    auth = Some(AuthArg::Public);
                } else if let Err(e) = lambada_path::authorizer_name(&name) {
                    let e = if name.is_empty() {
                        format!("{e}: name one, or write `auth = \"none\"` for a public route")
                    } else {
                        e
                    };
                    errors.spanned(lit.span(), e);
                } else {
                    auth = Some(AuthArg::Named(name));
                }
            }
            "scopes" => {
                if scopes.is_some() {
                    errors.spanned(key.span(), "duplicate `scopes`");
                    continue;
                }
                let syn::Expr::Array(list) = value else {
                    errors.spanned(
                        value.span(),
                        "expected a list of OAuth scopes: `scopes = [\"orders/read\"]`",
                    );
                    continue;
                };
                if list.elems.is_empty() {
                    errors.spanned(
                        list.span(),
                        "an empty `scopes` list asks for nothing: remove it, or name at least one scope",
                    );
                }
                let mut out = Vec::new();
                for e in &list.elems {
                    match lit_str(e) {
                        Some(l)
                            if l.value().is_empty() || l.value().contains(char::is_whitespace) =>
                        {
                            errors.spanned(
                                l.span(),
                                "a scope is one non-empty word without spaces (`orders/read`)",
                            );
                        }
                        Some(l) => out.push(l.value()),
                        None => {
                            errors.spanned(e.span(), "expected a scope string: `\"orders/read\"`")
                        }
                    }
                }
                scopes = Some(out);
            }
            "cors" => {
                if cors.is_some() {
                    errors.spanned(key.span(), "duplicate `cors`");
                    continue;
                }
                match value {
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Bool(b),
                        ..
                    }) if !b.value => cors = Some(CorsArg::Off),
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Bool(b),
                        ..
                    }) => errors.spanned(
                        b.span(),
                        "`cors = true` says nothing: the table's CORS settings apply without it; write `cors = false` for none, or `cors = settings` naming a `fn() -> Cors`",
                    ),
                    syn::Expr::Path(p) if p.qself.is_none() => {
                        cors = Some(CorsArg::Own(p.path.clone()));
                    }
                    other => errors.spanned(
                        other.span(),
                        "expected `cors = false` (no CORS for this route) or `cors = settings`, naming a `fn() -> Cors` that gives the route its own",
                    ),
                }
            }
            "tag" => {
                if tag.is_some() {
                    errors.spanned(key.span(), "duplicate `tag`");
                    continue;
                }
                match lit_str(value) {
                    Some(l) if !l.value().trim().is_empty() => tag = Some(l.value()),
                    Some(l) => errors.spanned(l.span(), "an empty tag names nothing"),
                    None => errors.spanned(
                        value.span(),
                        "expected the OpenAPI tag of the route: `tag = \"orders\"`",
                    ),
                }
            }
            "stream" => {
                if stream.is_some() {
                    errors.spanned(key.span(), "duplicate `stream`");
                    continue;
                }
                match value {
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Bool(b),
                        ..
                    }) => stream = Some(b.value),
                    other => errors.spanned(
                        other.span(),
                        "expected `stream` (or `stream = false`): whether the route streams its response",
                    ),
                }
            }
            other => errors.spanned(
                key.span(),
                format!(
                    "unknown argument `{other}`: expected `auth`, `scopes`, `cors`, `tag` or `stream`"
                ),
            ),
        }
    }
    let scopes = scopes.unwrap_or_default();
    if let Some(AuthArg::Function(p)) = &auth
        && !scopes.is_empty()
    {
        errors.spanned(
            extra
                .iter()
                .find(|(k, _)| k == "scopes")
                .map(|(k, _)| k.span())
                .unwrap_or_else(Span::call_site),
            format!(
                "`{}` is a Lambda authorizer, which decides itself: scopes are checked by JWT and Cognito authorizers only",
                p.segments.last().map(|s| s.ident.to_string()).unwrap_or_default()
            ),
        );
    }
    if matches!(auth, Some(AuthArg::Public)) && !scopes.is_empty() {
        errors.spanned(
            extra
                .iter()
                .find(|(k, _)| k == "scopes")
                .map(|(k, _)| k.span())
                .unwrap_or_else(Span::call_site),
            "a public route (`auth = \"none\"`) cannot require scopes",
        );
    }
    RouteOptions {
        auth: auth.unwrap_or(AuthArg::Default),
        scopes,
        cors: cors.unwrap_or(CorsArg::Table),
        tag,
        stream: stream.unwrap_or(false),
    }
}

fn parse_args(method: Option<HttpMethod>, args: TokenStream) -> syn::Result<RouteArgs> {
    if args.is_empty() {
        return Err(syn::Error::new(
            Span::call_site(),
            "expected a route path: `#[get(\"/hello/<name>\")]`",
        ));
    }
    match method {
        Some(m) => {
            let parser = |input: syn::parse::ParseStream<'_>| {
                let path: syn::LitStr = input.parse().map_err(|e| {
                    syn::Error::new(
                        e.span(),
                        "expected a route path string: `#[get(\"/hello/<name>\")]`",
                    )
                })?;
                let extra = parse_extra(input)?;
                Ok(RouteArgs {
                    method: m,
                    path,
                    extra,
                })
            };
            syn::parse::Parser::parse2(parser, args)
        }
        None => {
            let parser = |input: syn::parse::ParseStream<'_>| {
                let ident: syn::Ident = input.parse()?;
                let m = HttpMethod::from_ident(&ident.to_string()).ok_or_else(|| {
                    syn::Error::new(
                        ident.span(),
                        format!("unknown method `{ident}`: expected GET, POST, PUT, DELETE, PATCH, HEAD or OPTIONS"),
                    )
                })?;
                input.parse::<syn::Token![,]>()?;
                let path: syn::LitStr = input.parse()?;
                let extra = parse_extra(input)?;
                Ok(RouteArgs {
                    method: m,
                    path,
                    extra,
                })
            };
            syn::parse::Parser::parse2(parser, args)
        }
    }
}

fn leak(s: &str) -> &'static str {
    // Proc macros run in a short-lived compiler process; route paths are tiny.
    Box::leak(s.to_owned().into_boxed_str())
}

/// The last path segment's identifier of a type, and its generic arguments.
pub(crate) fn type_tail(ty: &syn::Type) -> Option<(String, Vec<&syn::Type>)> {
    match ty {
        syn::Type::Path(p) if p.qself.is_none() => {
            let seg = p.path.segments.last()?;
            let args = match &seg.arguments {
                syn::PathArguments::AngleBracketed(a) => a
                    .args
                    .iter()
                    .filter_map(|g| match g {
                        syn::GenericArgument::Type(t) => Some(t),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            Some((seg.ident.to_string(), args))
        }
        syn::Type::Reference(r) => {
            let (inner, _) = type_tail(&r.elem)?;
            Some((format!("&{inner}"), Vec::new()))
        }
        syn::Type::Slice(s) => {
            let (inner, _) = type_tail(&s.elem)?;
            Some((format!("[{inner}]"), Vec::new()))
        }
        syn::Type::Paren(p) => type_tail(&p.elem),
        _ => None,
    }
}

/// Body extractors we can recognise by name, for a precise error.
fn is_body_type(ty: &syn::Type) -> bool {
    matches!(type_tail(ty), Some((n, _)) if matches!(n.as_str(), "Json" | "Form" | "Bytes" | "&[u8]"))
}

/// Scalars that only make sense as a named parameter.
fn is_scalar(ty: &syn::Type) -> bool {
    let Some((n, args)) = type_tail(ty) else {
        return false;
    };
    let scalar = |n: &str| {
        matches!(
            n,
            "u8" | "u16"
                | "u32"
                | "u64"
                | "u128"
                | "usize"
                | "i8"
                | "i16"
                | "i32"
                | "i64"
                | "i128"
                | "isize"
                | "f32"
                | "f64"
                | "bool"
                | "char"
                | "Uuid"
                | "&str"
                | "String"
        )
    };
    scalar(&n) || (n == "Option" && args.first().is_some_and(|t| is_scalar(t)))
}

pub(crate) fn type_string(ty: &syn::Type) -> String {
    let s = quote!(#ty).to_string();
    let mut out = String::with_capacity(s.len());
    let chars: Vec<char> = s.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if *c == ' ' {
            let prev = if i > 0 { chars[i - 1] } else { ' ' };
            let next = chars.get(i + 1).copied().unwrap_or(' ');
            let tight = |c: char| "<>:&,()[]".contains(c);
            if tight(next) || (tight(prev) && prev != ',') || prev == '\'' {
                if prev == ',' {
                    out.push(' ');
                }
                continue;
            }
            // keep the space after a lifetime: `&'a str`
        }
        out.push(*c);
    }
    out.replace(",", ", ").replace(",  ", ", ")
}

/// Reads `#[query]`, `#[header("x")]`, `#[cookie]` off a parameter.
fn take_source_attr(
    pat: &mut syn::PatType,
    name: Option<&syn::Ident>,
    errors: &mut Errors,
) -> Option<ArgSource> {
    let mut source = None;
    let mut keep = Vec::new();
    for attr in pat.attrs.drain(..) {
        let kind = ["query", "header", "cookie"]
            .into_iter()
            .find(|k| attr.path().is_ident(k));
        let Some(kind) = kind else {
            keep.push(attr);
            continue;
        };
        if source.is_some() {
            errors.spanned(
                attr.span(),
                "an argument can have only one of `#[query]`, `#[header]`, `#[cookie]`",
            );
            continue;
        }
        let explicit = match &attr.meta {
            syn::Meta::Path(_) => None,
            syn::Meta::List(_) => match attr.parse_args::<syn::LitStr>() {
                Ok(l) => Some(l.value()),
                Err(e) => {
                    errors.push(syn::Error::new(
                        e.span(),
                        format!("expected a name: `#[{kind}(\"name\")]`"),
                    ));
                    continue;
                }
            },
            syn::Meta::NameValue(nv) => {
                errors.spanned(nv.span(), format!("write `#[{kind}(\"name\")]`"));
                continue;
            }
        };
        let derived = name.map(|n| {
            let n = n.to_string();
            let n = n.trim_start_matches("r#").to_owned();
            if kind == "header" {
                n.replace('_', "-")
            } else {
                n
            }
        });
        let Some(field) = explicit.or(derived) else {
            errors.spanned(
                attr.span(),
                format!("name the {kind}: `#[{kind}(\"name\")]` (the argument is a pattern)"),
            );
            continue;
        };
        source = Some(match kind {
            "query" => ArgSource::Query(field),
            "header" => ArgSource::Header(field.to_ascii_lowercase()),
            _ => ArgSource::Cookie(field),
        });
    }
    pat.attrs = keep;
    source
}

fn model(
    RouteArgs {
        method,
        path: path_lit,
        extra,
    }: RouteArgs,
    func: &mut syn::ItemFn,
    errors: &mut Errors,
) -> Option<RouteModel> {
    let options = options(&extra, errors);
    let value = path_lit.value();
    let value: &'static str = leak(&value);
    let parsed = match lambada_path::parse(value) {
        Ok(p) => Some(p),
        Err(errs) => {
            for e in errs {
                errors.spanned(
                    sub_span(&path_lit, &e.span),
                    format!("{e}{}", excerpt(value, &e.span)),
                );
            }
            None
        }
    };

    if let Some(asyncness) = &func.sig.asyncness {
        let _ = asyncness;
    }
    if let Some(g) = func
        .sig
        .generics
        .params
        .iter()
        .find(|p| !matches!(p, syn::GenericParam::Lifetime(_)))
    {
        errors.spanned(g.span(), "route handlers cannot be generic over types");
    }

    let path_params: Vec<(&str, usize)> = parsed
        .as_ref()
        .map(|p| {
            p.segments
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.param_name().map(|n| (n, i)))
                .collect()
        })
        .unwrap_or_default();
    let query_params: Vec<&str> = parsed.as_ref().map(|p| p.query.clone()).unwrap_or_default();
    let mut used_path = vec![false; path_params.len()];
    let mut used_query = vec![false; query_params.len()];

    let n_inputs = func.sig.inputs.len();
    let mut args = Vec::with_capacity(n_inputs);
    let mut body_seen: Option<Span> = None;
    for (i, input) in func.sig.inputs.iter_mut().enumerate() {
        let pat = match input {
            syn::FnArg::Receiver(r) => {
                errors.spanned(
                    r.span(),
                    "route handlers are free functions: they cannot take `self`",
                );
                continue;
            }
            syn::FnArg::Typed(p) => p,
        };
        let name = match &*pat.pat {
            syn::Pat::Ident(id) => Some(id.ident.clone()),
            _ => None,
        };
        let ty = (*pat.ty).clone();
        if let syn::Type::ImplTrait(t) = &ty {
            errors.spanned(
                t.span(),
                "`impl Trait` arguments are not supported in handlers: name the type",
            );
            continue;
        }
        let last = i + 1 == n_inputs;
        let attr_source = take_source_attr(pat, name.as_ref(), errors);
        let name_str = name
            .as_ref()
            .map(|n| n.to_string().trim_start_matches("r#").to_owned());
        let source = if let Some(s) = attr_source {
            s
        } else if let Some(pos) = name_str
            .as_deref()
            .and_then(|n| path_params.iter().position(|(p, _)| *p == n))
        {
            used_path[pos] = true;
            ArgSource::Path(path_params[pos].0.to_owned())
        } else if let Some(pos) = name_str
            .as_deref()
            .and_then(|n| query_params.iter().position(|q| *q == n))
        {
            used_query[pos] = true;
            ArgSource::Query(query_params[pos].to_owned())
        } else if last {
            ArgSource::Last
        } else {
            ArgSource::Parts
        };
        if source == ArgSource::Parts && is_body_type(&ty) {
            let msg = match body_seen {
                Some(_) => "only one argument may read the request body",
                None => {
                    "this argument reads the request body, so it must be the handler's last argument"
                }
            };
            errors.spanned(ty.span(), msg);
            body_seen = Some(ty.span());
        } else if source == ArgSource::Last && is_body_type(&ty) && body_seen.is_some() {
            errors.spanned(ty.span(), "only one argument may read the request body");
        }
        let string_body = matches!(type_tail(&ty), Some((n, _)) if n == "String" || n == "&str")
            && source == ArgSource::Last;
        if parsed.is_some()
            && matches!(source, ArgSource::Parts | ArgSource::Last)
            && is_scalar(&ty)
            && !string_body
        {
            let shown = name_str.clone().unwrap_or_else(|| "_".into());
            let params = if path_params.is_empty() {
                "the route has no path parameters".to_owned()
            } else {
                format!(
                    "the path parameters are {}",
                    path_params
                        .iter()
                        .map(|(p, _)| format!("`<{p}>`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            errors.spanned(
                pat.pat.span(),
                format!(
                    "argument `{shown}` matches no parameter of `{value}`: {params}; to read a query parameter declare it in the path (`?<{shown}>`) or mark the argument `#[query]`"
                ),
            );
        }
        args.push(Arg { ty, name, source });
    }

    for (i, (p, seg)) in path_params.iter().enumerate() {
        if !used_path[i] {
            let span = parsed
                .as_ref()
                .map(|pp| pp.segment_spans[*seg].clone())
                .unwrap_or(0..0);
            errors.spanned(
                sub_span(&path_lit, &span),
                format!(
                    "path parameter `{p}` has no matching handler argument: add an argument named `{p}`{}",
                    excerpt(value, &span)
                ),
            );
        }
    }
    for (i, q) in query_params.iter().enumerate() {
        if !used_query[i] {
            let span = parsed
                .as_ref()
                .map(|pp| pp.query_spans[i].clone())
                .unwrap_or(0..0);
            errors.spanned(
                sub_span(&path_lit, &span),
                format!(
                    "query parameter `{q}` has no matching handler argument{}",
                    excerpt(value, &span)
                ),
            );
        }
    }

    let parsed = parsed?;
    Some(RouteModel {
        method,
        canonical: parsed.canonical(),
        apigw: parsed.apigw(),
        matchit: parsed.matchit(),
        segments: parsed.segments.clone(),
        path_lit,
        args,
        is_async: func.sig.asyncness.is_some(),
        options,
    })
}

fn content_type_of_body(ty: &syn::Type) -> Option<&'static str> {
    match type_tail(ty)?.0.as_str() {
        "Json" => Some("application/json"),
        "Form" => Some("application/x-www-form-urlencoded"),
        "String" | "&str" => Some("text/plain"),
        "Bytes" | "Vec" | "&[u8]" => Some("application/octet-stream"),
        _ => None,
    }
}

/// Whether `ty` has an `impl Trait` anywhere in it.
fn mentions_impl_trait(ty: &syn::Type) -> bool {
    struct Finder(bool);
    impl<'a> syn::visit::Visit<'a> for Finder {
        fn visit_type_impl_trait(&mut self, _: &'a syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut f = Finder(false);
    syn::visit::Visit::visit_type(&mut f, ty);
    f.0
}

fn content_type_of_return(ty: &syn::Type) -> Option<&'static str> {
    if let syn::Type::Tuple(t) = ty {
        return content_type_of_return(t.elems.last()?);
    }
    let (n, args) = type_tail(ty)?;
    match n.as_str() {
        "String" | "&str" => Some("text/plain"),
        "Json" => Some("application/json"),
        "Html" => Some("text/html"),
        "Result" => content_type_of_return(args.first()?),
        _ => None,
    }
}

fn expand_route(func: &syn::ItemFn, m: &RouteModel) -> TokenStream {
    let name = &func.sig.ident;
    let vis = &func.vis;
    let method = m.method.variant();
    let path = &m.path_lit;
    let (canonical, apigw, matchit) = (&m.canonical, &m.apigw, &m.matchit);
    let segments = m.segments.iter().map(|s| match s {
        Segment::Literal(l) => quote!(::lambada::__private::Segment::Literal(#l)),
        Segment::Param(n) => quote!(::lambada::__private::Segment::Param(#n)),
        Segment::Tail(n) => quote!(::lambada::__private::Segment::Tail(#n)),
    });
    let handler = name.to_string();

    let mut bindings = Vec::new();
    let mut described = Vec::new();
    let mut call_args = Vec::new();
    let mut params = Vec::new();
    let mut states = Vec::new();
    let mut request_ct = None;
    for (i, arg) in m.args.iter().enumerate() {
        let var = format_ident!("__lambada_arg{}", i);
        let ty = &arg.ty;
        let span = ty.span();
        let extract = match &arg.source {
            ArgSource::Path(n) => {
                quote_spanned!(span=> ::lambada::__private::path::<#ty>(__req, #n).map_err(::lambada::__private::respond))
            }
            ArgSource::Query(n) => {
                quote_spanned!(span=> ::lambada::__private::query::<#ty>(__req, #n).map_err(::lambada::__private::respond))
            }
            ArgSource::Header(n) => {
                quote_spanned!(span=> ::lambada::__private::header::<#ty>(__req, #n).map_err(::lambada::__private::respond))
            }
            ArgSource::Cookie(n) => {
                quote_spanned!(span=> ::lambada::__private::cookie::<#ty>(__req, #n).map_err(::lambada::__private::respond))
            }
            ArgSource::Parts => quote_spanned!(span=>
                <#ty as ::lambada::FromRequestParts<'_>>::from_request_parts(__req).await
                    .map_err(::lambada::__private::respond)
            ),
            ArgSource::Last => quote_spanned!(span=>
                <#ty as ::lambada::FromRequest<'_, _>>::from_request(__req).await
                    .map_err(::lambada::__private::respond)
            ),
        };
        described.push(crate::openapi::argument(&arg.source, ty));
        bindings.push(quote! {
            let #var: #ty = match #extract {
                ::core::result::Result::Ok(v) => v,
                ::core::result::Result::Err(r) => return r,
            };
        });
        call_args.push(quote!(#var));

        let optional = matches!(type_tail(ty), Some((n, _)) if n == "Option");
        let (pname, source) = match &arg.source {
            ArgSource::Path(n) => (n.clone(), quote!(Path)),
            ArgSource::Query(n) => (n.clone(), quote!(Query)),
            ArgSource::Header(n) => (n.clone(), quote!(Header)),
            ArgSource::Cookie(n) => (n.clone(), quote!(Cookie)),
            ArgSource::Last if content_type_of_body(ty).is_some() => {
                request_ct = content_type_of_body(ty);
                (
                    arg.name.as_ref().map(|n| n.to_string()).unwrap_or_default(),
                    quote!(Body),
                )
            }
            _ => (
                arg.name.as_ref().map(|n| n.to_string()).unwrap_or_default(),
                quote!(Extractor),
            ),
        };
        let ty_str = type_string(ty);
        params.push(quote! {
            ::lambada::__private::Param {
                name: #pname,
                source: ::lambada::__private::Source::#source,
                ty: #ty_str,
                optional: #optional,
            }
        });
        if let Some(("State", Some(inner))) =
            type_tail(ty).as_ref().map(|(n, a)| (n.as_str(), a.first()))
        {
            states.push(
                quote_spanned!(inner.span()=> ::lambada::__private::StateKey::of::<#inner>()),
            );
        }
    }
    let request_ct = match request_ct {
        Some(c) => quote!(::core::option::Option::Some(#c)),
        None => quote!(::core::option::Option::None),
    };
    let response_ct = match &func.sig.output {
        syn::ReturnType::Default => quote!(::core::option::Option::None),
        syn::ReturnType::Type(_, ty) => match content_type_of_return(ty) {
            Some(c) => quote!(::core::option::Option::Some(#c)),
            None => quote!(::core::option::Option::None),
        },
    };
    let auth = match &m.options.auth {
        AuthArg::Default => quote!(::lambada::__private::Auth::Default),
        AuthArg::Public => quote!(::lambada::__private::Auth::Public),
        AuthArg::Named(n) => quote!(::lambada::__private::Auth::Authorizer(#n)),
        AuthArg::Function(p) => quote_spanned! {p.span()=>
            ::lambada::__private::Auth::Function(<#p as ::lambada::__private::AuthorizerDef>::NAME)
        },
    };
    let scopes = &m.options.scopes;
    let cors = match &m.options.cors {
        CorsArg::Table => quote!(::lambada::__private::CorsSetting::Table),
        CorsArg::Off => quote!(::lambada::__private::CorsSetting::Off),
        CorsArg::Own(p) => quote_spanned!(p.span()=> ::lambada::__private::CorsSetting::Own(#p)),
    };
    let await_ = if m.is_async { quote!(.await) } else { quote!() };
    let ret_span = match &func.sig.output {
        syn::ReturnType::Type(_, ty) => ty.span(),
        syn::ReturnType::Default => name.span(),
    };
    let respond = quote_spanned!(ret_span=> ::lambada::__private::respond(__lambada_ret));
    let returns = crate::openapi::returns(match &func.sig.output {
        syn::ReturnType::Type(_, ty) => Some(ty),
        syn::ReturnType::Default => None,
    });
    // Whether it streams: said by `stream`, else by the return type's
    // `IntoResponse::STREAMS` (an `impl Trait` cannot be named: no).
    let streams = match &func.sig.output {
        _ if m.options.stream => quote!(true),
        syn::ReturnType::Type(_, ty) if !mentions_impl_trait(ty) => {
            let ty = crate::openapi::without_lifetimes(ty);
            quote! {{
                #[allow(unused_imports)]
                use ::lambada::__private::{ViaNoStream as _, ViaStreams as _};
                (&&::lambada::__private::StreamProbe::<#ty>::new()).streams()
            }}
        }
        _ => quote!(false),
    };
    let doc = crate::openapi::doc_comment(&func.attrs);
    let tag = match &m.options.tag {
        Some(t) => quote!(::core::option::Option::Some(#t)),
        None => quote!(::core::option::Option::None),
    };

    quote! {
        #[allow(non_camel_case_types)]
        #[doc(hidden)]
        #[derive(Debug)]
        #vis struct #name {}

        const _: () = {
            fn __lambada_call<'r>(__req: &'r ::lambada::Request<'r>) -> ::lambada::__private::HandlerFuture<'r> {
                ::std::boxed::Box::pin(async move {
                    #(#bindings)*
                    let __lambada_ret = #name(#(#call_args),*)#await_;
                    #respond
                })
            }

            #[allow(clippy::needless_borrow)]
            fn __lambada_streams() -> bool {
                #streams
            }

            #[allow(unused_imports, clippy::needless_borrow)]
            fn __lambada_describe(
                __lambada_doc: &mut ::lambada::__private::openapi::Doc,
            ) -> ::lambada::__private::openapi::Operation {
                use ::lambada::__private::openapi::{
                    ViaAnyResponse as _, ViaBuiltin as _, ViaJsonSchema as _, ViaOpen as _,
                    ViaResponses as _,
                };
                let mut __lambada_described = ::lambada::__private::openapi::Operation::new(
                    #doc,
                    #tag,
                    ::core::module_path!(),
                );
                let __lambada_op = &mut __lambada_described;
                #(#described)*
                #returns
                __lambada_described
            }

            impl ::lambada::__private::RouteDef for #name {
                const ENTRY: ::lambada::__private::Entry = ::lambada::__private::Entry::Http(::lambada::__private::Route {
                    method: ::lambada::Method::#method,
                    path: #path,
                    canonical: #canonical,
                    apigw_path: #apigw,
                    matchit_path: #matchit,
                    segments: &[#(#segments),*],
                    handler: #handler,
                    module: ::core::module_path!(),
                    params: &[#(#params),*],
                    request_content_type: #request_ct,
                    response_content_type: #response_ct,
                    states: &[#(#states),*],
                    auth: #auth,
                    scopes: &[#(#scopes),*],
                    cors: #cors,
                    describe: __lambada_describe,
                    streams: __lambada_streams,
                    call: __lambada_call,
                });
            }
        };
    }
}

/// On error: the user's function (so the rest of the crate still
/// type-checks and rust-analyzer keeps working) and a stub route item (so
/// `routes![handler]` does not add follow-on errors).
fn stub(func: &syn::ItemFn) -> TokenStream {
    let name = &func.sig.ident;
    let vis = &func.vis;
    let handler = name.to_string();
    quote! {
        #[allow(non_camel_case_types)]
        #[doc(hidden)]
        #[derive(Debug)]
        #vis struct #name {}
        impl ::lambada::__private::RouteDef for #name {
            const ENTRY: ::lambada::__private::Entry =
                ::lambada::__private::Entry::Http(::lambada::__private::stub_route(#handler));
        }
    }
}

pub(crate) fn expand(
    method: Option<HttpMethod>,
    args: TokenStream,
    item: TokenStream,
) -> TokenStream {
    let mut func: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            let e = syn::Error::new(
                Span::call_site(),
                "route attributes go on free functions: `#[get(\"/\")] async fn index() -> &'static str { ... }`",
            )
            .to_compile_error();
            return quote!(#e #item);
        }
    };
    let mut errors = Errors::default();
    let model = match parse_args(method, args) {
        Ok(a) => model(a, &mut func, &mut errors),
        Err(e) => {
            errors.push(e);
            // Still strip parameter attributes so they do not add errors.
            for input in func.sig.inputs.iter_mut() {
                if let syn::FnArg::Typed(p) = input {
                    let name = match &*p.pat {
                        syn::Pat::Ident(id) => Some(id.ident.clone()),
                        _ => None,
                    };
                    let mut ignore = Errors::default();
                    take_source_attr(p, name.as_ref(), &mut ignore);
                }
            }
            None
        }
    };
    match (errors.into_result(), model) {
        (Ok(()), Some(m)) => {
            let route = expand_route(&func, &m);
            quote!(#func #route)
        }
        (Err(e), _) => {
            let e = e.to_compile_error();
            let stub = stub(&func);
            quote!(#e #func #stub)
        }
        (Ok(()), None) => {
            let stub = stub(&func);
            quote!(#func #stub)
        }
    }
}
