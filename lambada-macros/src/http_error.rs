//! `#[derive(HttpError)]`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::attr::Errors;

fn status_of(attrs: &[syn::Attribute], errors: &mut Errors) -> Option<TokenStream> {
    let mut found: Option<TokenStream> = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("status")) {
        if found.is_some() {
            errors.spanned(attr.span(), "duplicate `#[status]` attribute");
            continue;
        }
        match attr.parse_args::<syn::Expr>() {
            Ok(syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(n),
                ..
            })) => match n.base10_parse::<u16>() {
                Ok(code) if (100..=999).contains(&code) => {
                    found = Some(quote_spanned!(n.span()=>
                        match ::lambada::StatusCode::from_u16(#code) {
                            ::core::result::Result::Ok(s) => s,
                            ::core::result::Result::Err(_) => ::lambada::StatusCode::INTERNAL_SERVER_ERROR,
                        }
                    ));
                }
                _ => errors.spanned(n.span(), "an HTTP status is a number from 100 to 999"),
            },
            Ok(syn::Expr::Path(p)) if p.path.get_ident().is_some() => {
                let ident = p.path.get_ident();
                found = Some(quote_spanned!(p.span()=> ::lambada::StatusCode::#ident));
            }
            Ok(other) => errors.spanned(
                other.span(),
                "expected a status code: `#[status(404)]` or `#[status(NOT_FOUND)]`",
            ),
            Err(e) => errors.push(e),
        }
    }
    found
}

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let input: syn::DeriveInput = match syn::parse2(input) {
        Ok(i) => i,
        Err(e) => return e.to_compile_error(),
    };
    let mut errors = Errors::default();
    let name = &input.ident;
    let default = status_of(&input.attrs, &mut errors);
    // (status, description) of every answer, for the OpenAPI document.
    let mut documented: Vec<(TokenStream, String)> = Vec::new();
    let body = match &input.data {
        syn::Data::Enum(data) => {
            let arms: Vec<TokenStream> = data
                .variants
                .iter()
                .map(|v| {
                    let ident = &v.ident;
                    let status = status_of(&v.attrs, &mut errors).or_else(|| default.clone());
                    if let Some(st) = &status {
                        let what = crate::openapi::doc_comment(&v.attrs);
                        let what = what.lines().next().unwrap_or_default().trim().to_owned();
                        let what = if what.is_empty() { ident.to_string() } else { what };
                        documented.push((st.clone(), what));
                    }
                    let status = status.unwrap_or_else(|| {
                        errors.spanned(
                            v.ident.span(),
                            format!("variant `{ident}` has no status: add `#[status(...)]` to it or to the enum"),
                        );
                        quote!(::lambada::StatusCode::INTERNAL_SERVER_ERROR)
                    });
                    quote!(Self::#ident { .. } => #status,)
                })
                .collect();
            quote!(match self { #(#arms)* })
        }
        syn::Data::Struct(_) => default
            .inspect(|st| {
                let what = crate::openapi::doc_comment(&input.attrs);
                let what = what.lines().next().unwrap_or_default().trim().to_owned();
                documented.push((
                    st.clone(),
                    if what.is_empty() {
                        name.to_string()
                    } else {
                        what
                    },
                ));
            })
            .unwrap_or_else(|| {
                errors.spanned(
                    name.span(),
                    format!("`{name}` has no status: add `#[status(...)]`"),
                );
                quote!(::lambada::StatusCode::INTERNAL_SERVER_ERROR)
            }),
        syn::Data::Union(u) => {
            errors.spanned(
                u.union_token.span(),
                "`HttpError` cannot be derived for a union",
            );
            quote!(::lambada::StatusCode::INTERNAL_SERVER_ERROR)
        }
    };
    if let Err(e) = errors.into_result() {
        return e.to_compile_error();
    }
    let (impl_g, ty_g, where_g) = input.generics.split_for_impl();
    let statuses = documented.iter().map(|(s, _)| s);
    let descriptions = documented.iter().map(|(_, d)| d);
    quote! {
        impl #impl_g ::lambada::HttpError for #name #ty_g #where_g {
            #[allow(unreachable_code)]
            fn status(&self) -> ::lambada::StatusCode {
                #body
            }
        }
        impl #impl_g ::lambada::IntoResponse for #name #ty_g #where_g {
            fn into_response(self) -> ::lambada::Response {
                ::lambada::HttpError::to_response(&self)
            }
        }
        impl #impl_g ::lambada::openapi::Responses for #name #ty_g #where_g {
            fn responses(
                _: &mut ::lambada::openapi::Doc,
                op: &mut ::lambada::openapi::Operation,
            ) {
                #( op.problem((#statuses).as_u16(), #descriptions); )*
            }
        }
    }
}
