//! The OpenAPI description a route attribute generates next to the
//! handler: its parameters, body and responses from the argument and
//! return types, its summary from the doc comment.
//!
//! Known wrappers are taken apart here, where the types are concrete
//! (`Json<T>`, `Form<T>`, `Option<T>`, `Vec<T>`, `Result<T, E>`, tuples
//! with a status); each leaf type is then asked for its description at
//! run time through `lambada::openapi`'s probes, which pick the most
//! specific one it has (its `JsonSchema`, a built-in schema, or an open
//! one).

use proc_macro2::TokenStream;
use quote::quote;
use syn::visit_mut::VisitMut;

use crate::route::type_tail;

/// Every lifetime of a type as `'static`: the description function has
/// none of the handler's lifetime parameters.
pub(crate) fn without_lifetimes(ty: &syn::Type) -> syn::Type {
    struct Erase;
    impl VisitMut for Erase {
        fn visit_lifetime_mut(&mut self, l: &mut syn::Lifetime) {
            *l = syn::Lifetime::new("'static", l.apostrophe);
        }
        fn visit_type_reference_mut(&mut self, r: &mut syn::TypeReference) {
            r.lifetime = Some(syn::Lifetime::new(
                "'static",
                proc_macro2::Span::call_site(),
            ));
            syn::visit_mut::visit_type_reference_mut(self, r);
        }
        fn visit_type_impl_trait_mut(&mut self, _: &mut syn::TypeImplTrait) {}
    }
    let mut ty = ty.clone();
    Erase.visit_type_mut(&mut ty);
    ty
}

/// `(&&&Probe::<T>::new()).schema(doc)`: the schema of a leaf type.
fn schema(ty: &syn::Type) -> TokenStream {
    let ty = without_lifetimes(ty);
    quote!((&&&::lambada::__private::openapi::Probe::<#ty>::new()).schema(__lambada_doc))
}

/// The schema of a parameter type, and whether the request must have it:
/// `Option<T>` may be left out, `Vec<T>` is an array of `T`s.
fn parameter_schema(ty: &syn::Type) -> (TokenStream, bool) {
    match type_tail(ty) {
        Some((n, args)) if n == "Option" && args.len() == 1 => {
            let (s, _) = parameter_schema(args[0]);
            (s, false)
        }
        Some((n, args)) if n == "Vec" && args.len() == 1 => {
            let item = schema(args[0]);
            (
                quote!(::lambada::__private::serde_json::json!({"type": "array", "items": #item})),
                false,
            )
        }
        _ => (schema(ty), true),
    }
}

/// The statements describing one argument.
pub(crate) fn argument(source: &super::route::ArgSource, ty: &syn::Type) -> TokenStream {
    use super::route::ArgSource;
    let param = |location: &str, name: &str| {
        let (schema, required) = parameter_schema(ty);
        quote!(__lambada_op.parameter(#location, #name, #required, #schema);)
    };
    match source {
        ArgSource::Path(n) => param("path", n),
        ArgSource::Query(n) => param("query", n),
        ArgSource::Header(n) => param("header", n),
        ArgSource::Cookie(n) => param("cookie", n),
        ArgSource::Parts => match type_tail(ty) {
            Some((n, args)) if n == "Query" && args.len() == 1 => {
                let inner = without_lifetimes(args[0]);
                quote!((&&&::lambada::__private::openapi::Probe::<#inner>::new()).query_params(__lambada_doc, __lambada_op);)
            }
            _ => quote!(),
        },
        ArgSource::Last => {
            let body = |media: &str, s: TokenStream| quote!(__lambada_op.body(#media, #s););
            match type_tail(ty) {
                Some((n, args)) if n == "Json" && args.len() == 1 => {
                    body("application/json", schema(args[0]))
                }
                Some((n, args)) if n == "Form" && args.len() == 1 => {
                    body("application/x-www-form-urlencoded", schema(args[0]))
                }
                Some((n, _)) if n == "String" || n == "&str" => body(
                    "text/plain",
                    quote!(::lambada::__private::serde_json::json!({"type": "string"})),
                ),
                Some((n, _)) if n == "Bytes" || n == "Vec" || n == "&[u8]" => body(
                    "application/octet-stream",
                    quote!(
                        ::lambada::__private::serde_json::json!({"type": "string", "contentMediaType": "application/octet-stream"})
                    ),
                ),
                _ => quote!(),
            }
        }
    }
}

/// The statements describing what a handler returns.
pub(crate) fn returns(ty: Option<&syn::Type>) -> TokenStream {
    let Some(ty) = ty else {
        // No return type: `()`, a 204.
        return quote!(__lambada_op.response("204", "No Content", ::core::option::Option::None););
    };
    match ty {
        syn::Type::ImplTrait(_) => {
            return quote!(__lambada_op.response("default", "the response", ::core::option::Option::None););
        }
        syn::Type::Tuple(t) if t.elems.is_empty() => {
            return quote!(__lambada_op.response("204", "No Content", ::core::option::Option::None););
        }
        syn::Type::Tuple(t) => {
            // `(StatusCode, T)`, `(StatusCode, HeaderMap, T)`: the status is
            // the handler's choice, so `T` is documented as `default`;
            // `(HeaderMap, T)` and `([…; N], T)` answer as `T` does.
            let last = t.elems.last().expect("non-empty tuple");
            let inner = returns(Some(last));
            let dynamic = t
                .elems
                .first()
                .and_then(type_tail)
                .is_some_and(|(n, _)| n == "StatusCode");
            return if dynamic {
                quote!(__lambada_op.with_status_chosen_at_run_time(|__lambada_op| { #inner });)
            } else {
                inner
            };
        }
        syn::Type::Paren(p) => return returns(Some(&p.elem)),
        _ => {}
    }
    match type_tail(ty) {
        Some((n, args)) if n == "Result" && !args.is_empty() => {
            let ok = returns(Some(args[0]));
            let err = match args.get(1) {
                Some(e) => leaf(e),
                None => quote!(),
            };
            quote!(#ok #err)
        }
        Some((n, args)) if n == "Json" && args.len() == 1 => {
            let s = schema(args[0]);
            quote!(__lambada_op.response("200", "OK", ::core::option::Option::Some(("application/json", #s)));)
        }
        _ => leaf(ty),
    }
}

/// `(&&Probe::<T>::new()).responses(doc, op)`: a leaf response type.
fn leaf(ty: &syn::Type) -> TokenStream {
    if let syn::Type::ImplTrait(_) = ty {
        return quote!(__lambada_op.response("default", "the response", ::core::option::Option::None););
    }
    let ty = without_lifetimes(ty);
    quote!((&&::lambada::__private::openapi::Probe::<#ty>::new()).responses(__lambada_doc, __lambada_op);)
}

/// The handler's doc comment, one string.
pub(crate) fn doc_comment(attrs: &[syn::Attribute]) -> String {
    let mut lines = Vec::new();
    for a in attrs {
        if !a.path().is_ident("doc") {
            continue;
        }
        if let syn::Meta::NameValue(nv) = &a.meta
            && let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) = &nv.value
        {
            let line = s.value();
            lines.push(line.strip_prefix(' ').unwrap_or(&line).to_owned());
        }
    }
    lines.join("\n")
}
