//! The trigger attributes (`#[sns]`, `#[sqs]`, `#[kinesis]`,
//! `#[dynamodb_stream]`, `#[s3]`, `#[event_pattern]`, `#[schedule]`,
//! `#[invoke]`, `#[authorizer]`): parse → validate → expand, like the route
//! attributes. What differs between kinds is data and two hooks in each
//! kind's module ([`Kind`]); adding a kind is adding its module, a line in
//! [`kinds`] and its `#[proc_macro_attribute]` in `lib.rs`.

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::attr::Errors;
use crate::route::{type_string, type_tail};

mod authorizer;
mod dynamodb;
mod eventbridge;
mod invoke;
mod kinesis;
mod s3;
mod schedule;
pub(crate) mod schedule_expr;
mod sns;
mod sqs;

/// The registry of trigger attributes: `lib.rs` declares one
/// `#[proc_macro_attribute]` per entry.
pub(crate) mod kinds {
    pub(crate) use super::authorizer::KIND as AUTHORIZER;
    pub(crate) use super::dynamodb::KIND as DYNAMODB_STREAM;
    pub(crate) use super::eventbridge::KIND as EVENT_PATTERN;
    pub(crate) use super::invoke::KIND as INVOKE;
    pub(crate) use super::kinesis::KIND as KINESIS;
    pub(crate) use super::s3::KIND as S3;
    pub(crate) use super::schedule::KIND as SCHEDULE;
    pub(crate) use super::sns::KIND as SNS;
    pub(crate) use super::sqs::KIND as SQS;
}

/// What comes before the `key = value` settings.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Leading {
    /// Nothing: `#[sns(topic = "…")]`.
    None,
    /// A schedule expression: `#[schedule("rate(5 minutes)", …)]`.
    Expression,
    /// An optional authorizer kind: `#[authorizer(request, …)]`.
    AuthorizerKind,
}

/// One kind of trigger: everything the attribute needs to know about it.
/// Each kind's module defines its `KIND`.
pub(crate) struct Kind {
    /// The attribute's name (`dynamodb_stream`), as in messages.
    pub attr: &'static str,
    /// The `TriggerKind` variant.
    pub variant: &'static str,
    /// The key naming the source, for the kinds that have one.
    pub source_key: Option<&'static str>,
    /// The source when the key is left out; `None`: the key is required.
    pub source_default: Option<&'static str>,
    /// The keys the attribute takes besides the source and the function
    /// settings.
    pub keys: &'static [&'static str],
    /// An example of the attribute, for messages.
    pub example: &'static str,
    /// The event argument type when the handler takes none.
    pub default_event: &'static str,
    /// The runtime's `drive_*` function, whose bound checks the event type.
    pub driver: &'static str,
    /// The batch size when none is given (polled sources).
    pub batch_size: Option<u32>,
    /// Whether the source is a stream (a starting position, `LATEST` by
    /// default).
    pub stream: bool,
    /// What comes before the settings.
    pub leading: Leading,
    /// Whether this is `#[authorizer]` (an `AuthorizerDef` and spec).
    pub authorizer: bool,
    /// The kind's own checks of the settings.
    pub check: fn(&Settings, &mut Errors),
    /// The kind's settings for the manifest (JSON text), if it has any
    /// beyond the common fields.
    pub settings: fn(&Settings) -> Option<String>,
}

impl Kind {
    fn attr(&self) -> &'static str {
        self.attr
    }
    fn source_key(&self) -> Option<&'static str> {
        self.source_key
    }
    fn keys(&self) -> &'static [&'static str] {
        self.keys
    }
    fn example(&self) -> &'static str {
        self.example
    }
    fn default_event(&self) -> TokenStream {
        self.default_event.parse().expect("a type path")
    }
    fn driver(&self) -> TokenStream {
        self.driver.parse().expect("an identifier")
    }
    fn variant(&self) -> TokenStream {
        self.variant.parse().expect("an identifier")
    }
}

/// No checks beyond the common ones.
pub(crate) fn no_check(_: &Settings, _: &mut Errors) {}

/// No settings beyond the common fields.
pub(crate) fn no_settings(_: &Settings) -> Option<String> {
    None
}

/// The value of a kind's own key (`events = [...]`, `prefix = "..."`).
pub(crate) enum Extra {
    /// A string.
    Str(syn::LitStr),
    /// A list of strings, and the span of the whole list.
    List(Vec<syn::LitStr>, Span),
}

impl Extra {
    pub(crate) fn span(&self) -> Span {
        match self {
            Extra::Str(s) => s.span(),
            Extra::List(_, span) => *span,
        }
    }
}

const FUNCTION_KEYS: [&str; 3] = ["timeout", "memory", "concurrency"];

/// The keys this module parses itself; the others of a kind's `keys` are
/// the kind's own ([`Extra`]), checked by its `check`.
const BUILT_IN_KEYS: [&str; 6] = [
    "batch_size",
    "batch_window",
    "starting_position",
    "input",
    "identity",
    "ttl",
];

/// A kind's own key: a string or a list of strings.
fn extra_value(key: &str, value: &syn::Expr) -> syn::Result<Extra> {
    let lit = |e: &syn::Expr| match e {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(l),
            ..
        }) => Some(l.clone()),
        _ => None,
    };
    if let Some(l) = lit(value) {
        return Ok(Extra::Str(l));
    }
    if let syn::Expr::Array(a) = value {
        let items = a
            .elems
            .iter()
            .map(|e| {
                lit(e).ok_or_else(|| {
                    syn::Error::new(
                        e.span(),
                        format!("`{key}` takes strings: `{key} = [\"...\"]`"),
                    )
                })
            })
            .collect::<syn::Result<Vec<_>>>()?;
        return Ok(Extra::List(items, value.span()));
    }
    Err(syn::Error::new(
        value.span(),
        format!("`{key}` takes a string or a list of strings"),
    ))
}

#[derive(Default)]
pub(crate) struct Settings {
    pub(crate) source: Option<String>,
    pub(crate) source_span: Option<Span>,
    pub(crate) batch_size: Option<u32>,
    pub(crate) batch_size_span: Option<Span>,
    pub(crate) batch_window: Option<u32>,
    pub(crate) starting_position: Option<String>,
    pub(crate) input: Option<String>,
    pub(crate) timeout: Option<u32>,
    pub(crate) memory: Option<u32>,
    pub(crate) concurrency: Option<u32>,
    /// `#[authorizer(token)]` (the default) or `#[authorizer(request)]`.
    pub(crate) request: bool,
    pub(crate) identity: Vec<String>,
    pub(crate) identity_span: Option<Span>,
    pub(crate) ttl: Option<u32>,
    /// The kind's own keys, by name.
    pub(crate) extra: Vec<(String, Extra)>,
}

impl Settings {
    /// The value of the kind's own key `key`, if given.
    pub(crate) fn extra(&self, key: &str) -> Option<&Extra> {
        self.extra.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// Checks one identity source of an authorizer: `header.NAME` or
/// `query.NAME`.
fn identity_source(s: &syn::LitStr) -> syn::Result<String> {
    let v = s.value();
    let ok = match v.split_once('.') {
        Some(("header", name)) => {
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        }
        Some(("query", name)) => !name.is_empty() && !name.contains(['&', '=', ' ']),
        _ => false,
    };
    if ok {
        Ok(v)
    } else {
        Err(syn::Error::new(
            s.span(),
            format!(
                "`{v}` is not an identity source: write `header.NAME` (`header.Authorization`) or `query.NAME` (`query.api_key`)"
            ),
        ))
    }
}

fn int(lit: &syn::Lit, key: &str, min: u32, max: u32) -> syn::Result<u32> {
    let syn::Lit::Int(i) = lit else {
        return Err(syn::Error::new(
            lit.span(),
            format!("`{key}` takes a whole number"),
        ));
    };
    match i.base10_parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(syn::Error::new(
            i.span(),
            format!("`{key}` must be between {min} and {max}"),
        )),
    }
}

fn string(lit: &syn::Lit, key: &str) -> syn::Result<syn::LitStr> {
    match lit {
        syn::Lit::Str(s) if !s.value().trim().is_empty() => Ok(s.clone()),
        syn::Lit::Str(s) => Err(syn::Error::new(s.span(), format!("`{key}` is empty"))),
        _ => Err(syn::Error::new(
            lit.span(),
            format!("`{key}` takes a string"),
        )),
    }
}

/// Rust tokens written as JSON (`input = {"Domain": "example.com"}`) back to
/// JSON text: tokens concatenated without spaces, so `-1` stays a number.
fn json_text(tokens: TokenStream, out: &mut String) {
    for t in tokens {
        match t {
            TokenTree::Group(g) => {
                let (open, close) = match g.delimiter() {
                    Delimiter::Brace => ("{", "}"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::None => ("", ""),
                };
                out.push_str(open);
                json_text(g.stream(), out);
                out.push_str(close);
            }
            other => out.push_str(&other.to_string()),
        }
    }
}

fn parse_args(kind: &Kind, args: TokenStream, errors: &mut Errors) -> Settings {
    let mut s = Settings::default();
    let mut tokens = args.into_iter().peekable();
    // `#[schedule("rate(5 minutes)")]`: the expression comes first.
    if kind.leading == Leading::Expression {
        match tokens.next() {
            Some(TokenTree::Literal(l)) => {
                let lit = syn::Lit::new(l);
                match string(&lit, "the schedule expression") {
                    Ok(expr) => match schedule_expr::validate(&expr.value()) {
                        Ok(()) => s.source = Some(expr.value().trim().to_owned()),
                        Err(e) => errors.spanned(expr.span(), e),
                    },
                    Err(e) => errors.push(e),
                }
                if let Some(t) = tokens.next() {
                    match t {
                        TokenTree::Punct(p) if p.as_char() == ',' => {}
                        other => {
                            errors.spanned(other.span(), "expected `,` after the expression");
                            return s;
                        }
                    }
                }
            }
            other => {
                let span = other.map_or_else(Span::call_site, |t| t.span());
                errors.spanned(
                    span,
                    "a schedule needs its expression first: `#[schedule(\"rate(15 minutes)\")]` or `#[schedule(\"cron(0 12 * * ? *)\")]`",
                );
                return s;
            }
        }
    }
    if kind.leading == Leading::AuthorizerKind
        && let Some(TokenTree::Ident(id)) = tokens.peek()
    {
        let word = id.to_string();
        let span = id.span();
        let followed = {
            let mut ahead = tokens.clone();
            ahead.next();
            match ahead.next() {
                None => true,
                Some(TokenTree::Punct(p)) => p.as_char() == ',',
                Some(_) => false,
            }
        };
        if followed {
            match word.as_str() {
                "token" => {}
                "request" => s.request = true,
                other => {
                    errors.spanned(
                        span,
                        format!("`{other}` is not an authorizer kind: `#[authorizer(token)]` (one header's value) or `#[authorizer(request, identity = [...])]` (the whole request)"),
                    );
                    return s;
                }
            }
            tokens.next();
            if matches!(tokens.peek(), Some(TokenTree::Punct(p)) if p.as_char() == ',') {
                tokens.next();
            }
        }
    }
    let rest: TokenStream = tokens.collect();
    // `input = { ...JSON... }` is not a Rust expression: take it out first.
    let mut kept = TokenStream::new();
    let mut it = rest.into_iter().peekable();
    while let Some(t) = it.next() {
        if let TokenTree::Ident(id) = &t
            && id == "input"
            && kind.keys.contains(&"input")
        {
            let eq = it.next();
            let value = it.next();
            match (eq, value) {
                (Some(TokenTree::Punct(p)), Some(v)) if p.as_char() == '=' => {
                    let text = match &v {
                        TokenTree::Literal(l) => match syn::Lit::new(l.clone()) {
                            syn::Lit::Str(s) => s.value(),
                            _ => v.to_string(),
                        },
                        _ => {
                            let mut t = String::new();
                            json_text(TokenStream::from(v.clone()), &mut t);
                            t
                        }
                    };
                    match serde_json::from_str::<serde_json::Value>(&text) {
                        Ok(value) => s.input = Some(value.to_string()),
                        Err(e) => errors.spanned(
                            v.span(),
                            format!("`input` must be JSON (an object like `{{\"key\": \"value\"}}`, or a string holding JSON): {e}"),
                        ),
                    }
                }
                _ => errors.spanned(id.span(), "expected `input = {...}`"),
            }
            // Skip the separating comma, if any.
            if matches!(it.peek(), Some(TokenTree::Punct(p)) if p.as_char() == ',') {
                it.next();
            }
            continue;
        }
        kept.extend([t]);
    }
    let parser = syn::meta::parser(|meta| {
        let Some(key) = meta.path.get_ident().map(|i| i.to_string()) else {
            return Err(meta.error("expected `key = value`"));
        };
        let known = kind.source_key() == Some(key.as_str())
            || kind.keys().contains(&key.as_str())
            || FUNCTION_KEYS.contains(&key.as_str());
        if !known {
            let mut all: Vec<&str> = kind.source_key().into_iter().collect();
            all.extend(kind.keys());
            all.extend(FUNCTION_KEYS);
            return Err(meta.error(format!(
                "unknown setting `{key}` for `#[{}]`; it takes: {}",
                kind.attr(),
                all.join(", ")
            )));
        }
        if key == "identity" {
            let value: syn::Expr = meta.value()?.parse()?;
            let lits: Vec<syn::LitStr> = match &value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(l),
                    ..
                }) => vec![l.clone()],
                syn::Expr::Array(a) => a
                    .elems
                    .iter()
                    .map(|e| match e {
                        syn::Expr::Lit(syn::ExprLit {
                            lit: syn::Lit::Str(l),
                            ..
                        }) => Ok(l.clone()),
                        other => Err(syn::Error::new(
                            other.span(),
                            "identity sources are strings: `\"header.Authorization\"`",
                        )),
                    })
                    .collect::<syn::Result<_>>()?,
                other => {
                    return Err(syn::Error::new(
                        other.span(),
                        "`identity` takes a string or a list of strings: `identity = [\"header.x-api-key\", \"query.key\"]`",
                    ));
                }
            };
            if lits.is_empty() {
                return Err(syn::Error::new(value.span(), "`identity` is empty"));
            }
            for l in &lits {
                s.identity.push(identity_source(l)?);
            }
            s.identity_span = Some(value.span());
            return Ok(());
        }
        if kind.source_key() != Some(key.as_str())
            && !BUILT_IN_KEYS.contains(&key.as_str())
            && !FUNCTION_KEYS.contains(&key.as_str())
        {
            let value: syn::Expr = meta.value()?.parse()?;
            let extra = extra_value(&key, &value)?;
            if s.extra.iter().any(|(k, _)| *k == key) {
                return Err(syn::Error::new(
                    extra.span(),
                    format!("`{key}` is given twice"),
                ));
            }
            s.extra.push((key, extra));
            return Ok(());
        }
        let lit: syn::Lit = meta.value()?.parse()?;
        match key.as_str() {
            k if kind.source_key() == Some(k) => {
                s.source = Some(string(&lit, &key)?.value().trim().to_owned());
                s.source_span = Some(lit.span());
            }
            "batch_size" => {
                s.batch_size = Some(int(&lit, &key, 1, 10_000)?);
                s.batch_size_span = Some(lit.span());
            }
            "batch_window" => s.batch_window = Some(int(&lit, &key, 0, 300)?),
            "starting_position" => {
                let v = string(&lit, &key)?;
                match v.value().as_str() {
                    "LATEST" | "TRIM_HORIZON" => s.starting_position = Some(v.value()),
                    _ => {
                        return Err(syn::Error::new(
                            v.span(),
                            "`starting_position` is \"LATEST\" or \"TRIM_HORIZON\"",
                        ));
                    }
                }
            }
            "timeout" => s.timeout = Some(int(&lit, &key, 1, 900)?),
            "memory" => s.memory = Some(int(&lit, &key, 128, 10_240)?),
            "concurrency" => s.concurrency = Some(int(&lit, &key, 0, 100_000)?),
            "ttl" => s.ttl = Some(int(&lit, &key, 0, 3600)?),
            _ => unreachable!("checked above"),
        }
        Ok(())
    });
    match syn::parse::Parser::parse2(parser, kept) {
        // The kind's checks only see complete settings: a key the parser
        // stopped at would be reported again as missing.
        Ok(()) => (kind.check)(&s, errors),
        Err(e) => errors.push(e),
    }
    s
}

fn opt_u32(v: Option<u32>) -> TokenStream {
    match v {
        Some(n) => quote!(::core::option::Option::Some(#n)),
        None => quote!(::core::option::Option::None),
    }
}

fn opt_str(v: Option<&str>) -> TokenStream {
    match v {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    }
}

fn stub(kind: &Kind, func: &syn::ItemFn) -> TokenStream {
    let name = &func.sig.ident;
    let vis = &func.vis;
    let handler = name.to_string();
    let def = kind.authorizer.then(|| {
        quote! {
            impl ::lambada::__private::AuthorizerDef for #name {
                const NAME: &'static str = #handler;
            }
        }
    });
    quote! {
        #def
        #[allow(non_camel_case_types)]
        #[doc(hidden)]
        #[derive(Debug)]
        #vis struct #name {}
        impl ::lambada::__private::RouteDef for #name {
            const ENTRY: ::lambada::__private::Entry =
                ::lambada::__private::Entry::Trigger(::lambada::__private::stub_trigger(#handler));
        }
    }
}

pub(crate) fn expand(kind: &Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let func: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            let e = syn::Error::new(
                Span::call_site(),
                format!(
                    "trigger attributes go on free functions: `{} async fn handle(...) {{ ... }}`",
                    kind.example()
                ),
            )
            .to_compile_error();
            return quote!(#e #item);
        }
    };
    let mut errors = Errors::default();
    let s = parse_args(kind, args, &mut errors);
    if let Some(key) = kind.source_key()
        && s.source.is_none()
        && kind.source_default.is_none()
    {
        errors.spanned(
            Span::call_site(),
            format!(
                "`#[{}]` needs `{key} = \"...\"`: `{}`",
                kind.attr(),
                kind.example()
            ),
        );
    }
    let mut args: Vec<&syn::PatType> = Vec::new();
    for input in &func.sig.inputs {
        match input {
            syn::FnArg::Typed(p) => args.push(p),
            syn::FnArg::Receiver(r) => errors.spanned(
                r.span(),
                "a trigger handler is a free function, not a method",
            ),
        }
    }
    if let Some(g) = func.sig.generics.params.first() {
        errors.spanned(g.span(), "trigger handlers cannot be generic");
    }
    if let Err(e) = errors.into_result() {
        let e = e.to_compile_error();
        let stub = stub(kind, &func);
        return quote!(#e #func #stub);
    }
    let tokens = expand_trigger(kind, &func, &args, &s);
    quote!(#func #tokens)
}

fn expand_trigger(
    kind: &Kind,
    func: &syn::ItemFn,
    args: &[&syn::PatType],
    s: &Settings,
) -> TokenStream {
    let name = &func.sig.ident;
    let vis = &func.vis;
    let handler = name.to_string();
    let (event_ty, event_str, extras) = match args.split_first() {
        Some((first, rest)) => {
            let ty = &first.ty;
            (quote!(#ty), type_string(ty), rest)
        }
        None => (kind.default_event(), String::new(), &[][..]),
    };
    let event_span = args.first().map_or_else(|| name.span(), |a| a.ty.span());
    let mut bindings = Vec::new();
    let mut call_args = Vec::new();
    if !args.is_empty() {
        call_args.push(quote!(__lambada_event));
    }
    let mut states = Vec::new();
    for (i, arg) in extras.iter().enumerate() {
        let var = format_ident!("__lambada_arg{}", i);
        let ty = &arg.ty;
        bindings.push(quote_spanned! {ty.span()=>
            let #var: #ty = match <#ty as ::lambada::__private::FromInvocation>::from_invocation(__lambada_call) {
                ::core::result::Result::Ok(v) => v,
                ::core::result::Result::Err(e) => return ::core::result::Result::Err(e),
            };
        });
        call_args.push(quote!(#var));
        if let Some(("State", Some(inner))) =
            type_tail(ty).as_ref().map(|(n, a)| (n.as_str(), a.first()))
        {
            states.push(
                quote_spanned!(inner.span()=> ::lambada::__private::StateKey::of::<#inner>()),
            );
        }
    }
    let ignore_event = args.is_empty().then(|| quote!(let _ = __lambada_event;));
    let await_ = func.sig.asyncness.map(|_| quote!(.await));
    let ret_span = match &func.sig.output {
        syn::ReturnType::Type(_, ty) => ty.span(),
        syn::ReturnType::Default => name.span(),
    };
    let output =
        quote_spanned!(ret_span=> ::lambada::__private::TriggerOutput::into_output(__lambada_ret));
    let driver = kind.driver();
    let drive = quote_spanned!(event_span=> ::lambada::__private::#driver::<#event_ty>);
    let variant = kind.variant();
    let source = s
        .source
        .clone()
        .or(kind.source_default.map(str::to_owned))
        .unwrap_or_default();
    let batch_size = opt_u32(s.batch_size.or(kind.batch_size));
    let batch_window = opt_u32(s.batch_window);
    let starting_position = opt_str(
        kind.stream
            .then(|| s.starting_position.as_deref().unwrap_or("LATEST")),
    );
    let input = opt_str(s.input.as_deref());
    let settings = (kind.settings)(s);
    let settings = opt_str(settings.as_deref());
    let (timeout, memory, concurrency) = (
        opt_u32(s.timeout),
        opt_u32(s.memory),
        opt_u32(s.concurrency),
    );
    let (authorizer, authorizer_def) = if kind.authorizer {
        let token = !s.request;
        let identity = if s.identity.is_empty() {
            vec!["header.Authorization".to_owned()]
        } else {
            s.identity.clone()
        };
        let ttl = s.ttl.unwrap_or(300);
        (
            quote!(::core::option::Option::Some(::lambada::__private::AuthorizerSpec {
                token: #token,
                identity: &[#(#identity),*],
                ttl: #ttl,
            })),
            quote! {
                impl ::lambada::__private::AuthorizerDef for #name {
                    const NAME: &'static str = #handler;
                }
            },
        )
    } else {
        (quote!(::core::option::Option::None), TokenStream::new())
    };
    quote! {
        #[allow(non_camel_case_types)]
        #[doc(hidden)]
        #[derive(Debug)]
        #vis struct #name {}

        #authorizer_def

        const _: () = {
            fn __lambada_one<'a>(
                __lambada_event: #event_ty,
                __lambada_call: &'a ::lambada::__private::TriggerCall<'a>,
            ) -> ::lambada::__private::OneFuture<'a> {
                ::std::boxed::Box::pin(async move {
                    #ignore_event
                    #(#bindings)*
                    let __lambada_ret = #name(#(#call_args),*)#await_;
                    #output
                })
            }

            fn __lambada_entry<'a>(
                __lambada_call: &'a ::lambada::__private::TriggerCall<'a>,
            ) -> ::lambada::__private::TriggerFuture<'a> {
                #drive(__lambada_call, __lambada_one)
            }

            impl ::lambada::__private::RouteDef for #name {
                const ENTRY: ::lambada::__private::Entry =
                    ::lambada::__private::Entry::Trigger(::lambada::__private::Trigger {
                        kind: ::lambada::__private::TriggerKind::#variant,
                        handler: #handler,
                        module: ::core::module_path!(),
                        event: #event_str,
                        source: #source,
                        batch_size: #batch_size,
                        batch_window: #batch_window,
                        starting_position: #starting_position,
                        input: #input,
                        settings: #settings,
                        timeout: #timeout,
                        memory: #memory,
                        concurrency: #concurrency,
                        states: &[#(#states),*],
                        authorizer: #authorizer,
                        call: __lambada_entry,
                    });
            }
        };
    }
}
