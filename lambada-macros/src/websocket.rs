//! `#[ws_connect]`, `#[ws_disconnect]`, `#[ws_message(route = "…")]`:
//! parse → validate → model → expand, like the route attributes.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::attr::Errors;
use crate::route::{type_string, type_tail};

/// Which attribute.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Connect,
    Disconnect,
    Message,
}

impl Kind {
    fn attr(self) -> &'static str {
        match self {
            Kind::Connect => "ws_connect",
            Kind::Disconnect => "ws_disconnect",
            Kind::Message => "ws_message",
        }
    }
}

/// The model of one handler, validated.
struct WsHandler<'f> {
    func: &'f syn::ItemFn,
    route_key: String,
    args: Vec<&'f syn::PatType>,
}

/// Checks a custom route key: `$default`, or a key without `$` in front
/// (API Gateway reserves those) and without whitespace, of at most 128
/// characters.
fn check_route_key(lit: &syn::LitStr) -> syn::Result<String> {
    let key = lit.value();
    let err = |msg: String| Err(syn::Error::new(lit.span(), msg));
    match key.as_str() {
        "$default" => Ok(key),
        "$connect" => err("`$connect` has its own attribute: `#[ws_connect]`".into()),
        "$disconnect" => err("`$disconnect` has its own attribute: `#[ws_disconnect]`".into()),
        "" => err("the route key is empty: `#[ws_message(route = \"sendmessage\")]`".into()),
        k if k.starts_with('$') => err(format!(
            "`{k}` is not a route key: keys starting with `$` are API Gateway's (`$default`, `$connect`, `$disconnect`); name custom routes without it, `route = \"{}\"`",
            k.trim_start_matches('$')
        )),
        k if k.len() > 128 => err("a route key has at most 128 characters".into()),
        k if k.chars().any(|c| c.is_whitespace() || c.is_control()) => err(format!(
            "`{k}` is not a route key: it is matched against the message's selection field, so it has no spaces"
        )),
        _ => Ok(key),
    }
}

fn parse_args(kind: Kind, args: TokenStream, errors: &mut Errors) -> Option<String> {
    match kind {
        Kind::Connect | Kind::Disconnect => {
            if !args.is_empty() {
                errors.spanned(
                    args.span(),
                    format!("`#[{}]` takes no arguments", kind.attr()),
                );
            }
            Some(
                if kind == Kind::Connect {
                    "$connect"
                } else {
                    "$disconnect"
                }
                .to_owned(),
            )
        }
        Kind::Message => {
            let mut route = None;
            let parser = syn::meta::parser(|meta| {
                if meta.path.is_ident("route") {
                    if route.is_some() {
                        return Err(meta.error("`route` is given twice"));
                    }
                    let lit: syn::LitStr = meta.value()?.parse().map_err(|e| {
                        syn::Error::new(
                            e.span(),
                            "`route` takes a string: `route = \"sendmessage\"`",
                        )
                    })?;
                    route = Some(check_route_key(&lit)?);
                    Ok(())
                } else {
                    Err(meta.error("unknown setting for `#[ws_message]`; it takes `route = \"…\"`"))
                }
            });
            if args.is_empty() {
                errors.spanned(
                    Span::call_site(),
                    "`#[ws_message]` needs its route key: `#[ws_message(route = \"sendmessage\")]` or `#[ws_message(route = \"$default\")]`",
                );
                return None;
            }
            if let Err(e) = syn::parse::Parser::parse2(parser, args) {
                errors.push(e);
                return None;
            }
            if route.is_none() {
                errors.spanned(Span::call_site(), "`#[ws_message]` needs `route = \"…\"`");
            }
            route
        }
    }
}

/// Whether a type reads the message: `Json<T>`, `String`, `Bytes`.
fn is_body(ty: &syn::Type) -> bool {
    matches!(type_tail(ty), Some((n, _)) if n == "Json" || n == "String" || n == "Bytes")
}

fn validate<'f>(
    kind: Kind,
    func: &'f syn::ItemFn,
    route_key: Option<String>,
    errors: &mut Errors,
) -> Option<WsHandler<'f>> {
    let mut args = Vec::new();
    let mut body: Option<&syn::PatType> = None;
    for input in &func.sig.inputs {
        match input {
            syn::FnArg::Typed(p) => {
                if is_body(&p.ty) {
                    if kind != Kind::Message {
                        errors.spanned(
                            p.ty.span(),
                            format!(
                                "a `{}` event has no message: `{}` can only be an argument of `#[ws_message]` handlers",
                                if kind == Kind::Connect { "$connect" } else { "$disconnect" },
                                type_string(&p.ty)
                            ),
                        );
                    } else if let Some(first) = body {
                        errors.spanned(
                            p.ty.span(),
                            format!(
                                "the message is read once: `{}` and `{}` both read it; keep one",
                                type_string(&first.ty),
                                type_string(&p.ty)
                            ),
                        );
                    }
                    body.get_or_insert(p);
                }
                args.push(p);
            }
            syn::FnArg::Receiver(r) => errors.spanned(
                r.span(),
                "a WebSocket handler is a free function, not a method",
            ),
        }
    }
    if let Some(g) = func.sig.generics.params.first() {
        errors.spanned(g.span(), "WebSocket handlers cannot be generic");
    }
    Some(WsHandler {
        func,
        route_key: route_key?,
        args,
    })
}

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
                ::lambada::__private::Entry::WebSocket(::lambada::__private::stub_ws_route(#handler));
        }
    }
}

pub(crate) fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let func: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            let e = syn::Error::new(
                Span::call_site(),
                format!(
                    "`#[{}]` goes on a free function: `#[{}] async fn handle(id: ConnectionId) {{ … }}`",
                    kind.attr(),
                    kind.attr()
                ),
            )
            .to_compile_error();
            return quote!(#e #item);
        }
    };
    let mut errors = Errors::default();
    let route_key = parse_args(kind, args, &mut errors);
    let handler = validate(kind, &func, route_key, &mut errors);
    match (errors.into_result(), handler) {
        (Ok(()), Some(h)) => {
            let tokens = emit(&h);
            quote!(#func #tokens)
        }
        (result, _) => {
            let e = result.err().map(|e| e.to_compile_error());
            // A method sits in an `impl` block, where no item may follow it.
            let method = func.sig.receiver().is_some();
            let stub = (!method).then(|| stub(&func));
            quote!(#e #func #stub)
        }
    }
}

fn emit(h: &WsHandler<'_>) -> TokenStream {
    let func = h.func;
    let name = &func.sig.ident;
    let vis = &func.vis;
    let handler = name.to_string();
    let route_key = &h.route_key;
    let mut bindings = Vec::new();
    let mut call_args = Vec::new();
    let mut states = Vec::new();
    let mut params = Vec::new();
    for (i, arg) in h.args.iter().enumerate() {
        let var = format_ident!("__lambada_arg{}", i);
        let ty = &arg.ty;
        let arg_name = match &*arg.pat {
            syn::Pat::Ident(p) => p.ident.to_string(),
            _ => format!("arg{i}"),
        };
        let ty_str = type_string(ty);
        params.push(quote!((#arg_name, #ty_str)));
        bindings.push(quote_spanned! {ty.span()=>
            let #var: #ty = match ::lambada::__private::ws_extract::<#ty>(__lambada_req, #arg_name) {
                ::core::result::Result::Ok(v) => v,
                ::core::result::Result::Err(p) => return ::lambada::__private::respond(p),
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
    let await_ = func.sig.asyncness.map(|_| quote!(.await));
    let ret_span = match &func.sig.output {
        syn::ReturnType::Type(_, ty) => ty.span(),
        syn::ReturnType::Default => name.span(),
    };
    let respond = quote_spanned!(ret_span=> ::lambada::__private::respond(__lambada_ret));
    quote! {
        #[allow(non_camel_case_types)]
        #[doc(hidden)]
        #[derive(Debug)]
        #vis struct #name {}

        const _: () = {
            fn __lambada_call<'r>(
                __lambada_req: &'r ::lambada::__private::WsRequest<'r>,
            ) -> ::lambada::__private::WsFuture<'r> {
                ::std::boxed::Box::pin(async move {
                    #(#bindings)*
                    let __lambada_ret = #name(#(#call_args),*)#await_;
                    #respond
                })
            }

            impl ::lambada::__private::RouteDef for #name {
                const ENTRY: ::lambada::__private::Entry =
                    ::lambada::__private::Entry::WebSocket(::lambada::__private::WsRoute {
                        route_key: #route_key,
                        handler: #handler,
                        module: ::core::module_path!(),
                        params: &[#(#params),*],
                        states: &[#(#states),*],
                        call: __lambada_call,
                        driver: ::lambada::__private::ws_drive,
                    });
            }
        };
    }
}
