//! `#[lambada::main]`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::attr::Errors;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut func: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            let e = e.to_compile_error();
            return quote!(#e #item);
        }
    };
    let mut errors = Errors::default();
    let mut flavor = None;
    if !args.is_empty() {
        let parser = syn::meta::parser(|meta| {
            if meta.path.is_ident("flavor") {
                let v: syn::LitStr = meta.value()?.parse()?;
                match v.value().as_str() {
                    "current_thread" => flavor = Some(false),
                    "multi_thread" => flavor = Some(true),
                    _ => {
                        return Err(syn::Error::new(
                            v.span(),
                            "unknown flavor: use \"current_thread\" or \"multi_thread\"",
                        ));
                    }
                }
                Ok(())
            } else {
                Err(meta.error("unknown argument: the only one is `flavor = \"...\"`"))
            }
        });
        if let Err(e) = syn::parse::Parser::parse2(parser, args) {
            errors.push(e);
        }
    }
    if func.sig.asyncness.is_none() {
        errors.spanned(
            func.sig.fn_token.span(),
            "`#[lambada::main]` needs an `async fn`",
        );
    }
    if !func.sig.inputs.is_empty() {
        errors.spanned(func.sig.inputs.span(), "`main` takes no arguments");
    }
    if let Err(e) = errors.into_result() {
        let e = e.to_compile_error();
        func.sig.asyncness = None;
        return quote!(#e #func);
    }
    func.sig.asyncness = None;
    let body = &func.block;
    let runner = match flavor {
        None => quote!(::lambada::__private::block_on),
        Some(true) => quote!(::lambada::__private::block_on_multi_thread),
        Some(false) => quote!(::lambada::__private::block_on_current_thread),
    };
    let new_body = quote_spanned!(body.span()=> { #runner(async move #body) });
    match syn::parse2(new_body) {
        Ok(block) => *func.block = block,
        Err(e) => return e.to_compile_error(),
    }
    quote!(#func)
}
