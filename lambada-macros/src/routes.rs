//! `routes![a, b::c]`: the route table as a `const`, checked by the compiler.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let paths = match Punctuated::<syn::Path, syn::Token![,]>::parse_terminated.parse2(input) {
        Ok(p) => p,
        Err(e) => {
            return syn::Error::new(
                e.span(),
                "expected handler names: `routes![index, users::create]`",
            )
            .to_compile_error();
        }
    };
    let entries = paths
        .iter()
        .map(|p| quote_spanned!(p.span()=> &<#p as ::lambada::__private::RouteDef>::ENTRY));
    let checks = paths.iter().enumerate().map(|(i, p)| {
        quote_spanned!(p.span()=> const _: () = ::lambada::__private::check_route(__LAMBADA_ENTRIES, #i);)
    });
    quote! {{
        const __LAMBADA_ENTRIES: &[&::lambada::__private::Entry] = &[#(#entries),*];
        #(#checks)*
        const __LAMBADA_HTTP: &[&::lambada::__private::Route] = &::lambada::__private::http_table::<
            { ::lambada::__private::count_http(__LAMBADA_ENTRIES) },
        >(__LAMBADA_ENTRIES);
        const __LAMBADA_TRIGGERS: &[&::lambada::__private::Trigger] = &::lambada::__private::trigger_table::<
            { ::lambada::__private::count_triggers(__LAMBADA_ENTRIES) },
        >(__LAMBADA_ENTRIES);
        const __LAMBADA_WS: &[&::lambada::__private::WsRoute] = &::lambada::__private::ws_table::<
            { ::lambada::__private::count_ws(__LAMBADA_ENTRIES) },
        >(__LAMBADA_ENTRIES);
        ::lambada::Routes::from_static(
            __LAMBADA_HTTP,
            __LAMBADA_TRIGGERS,
            (::core::env!("CARGO_PKG_NAME"), ::core::env!("CARGO_PKG_VERSION")),
        )
        .with_websocket(__LAMBADA_WS)
    }}
}
