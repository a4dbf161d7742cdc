//! Procedural macros for [Lambada](https://docs.rs/lambada-runtime).
//!
//! **Do not depend on this crate directly.** Depend on `lambada-runtime`,
//! which re-exports every macro here and provides the types the generated
//! code refers to (through `::lambada::__private`).
//!
//! Set `LAMBADA_MACROS_DEBUG=1` while building to print every expansion.

use proc_macro::TokenStream;

mod attr;
mod http_error;
mod main_attr;
mod route;
mod routes;

fn debug(name: &str, tokens: proc_macro2::TokenStream) -> TokenStream {
    if std::env::var_os("LAMBADA_MACROS_DEBUG").is_some() {
        eprintln!("--- lambada-macros: {name} ---\n{tokens}\n");
    }
    tokens.into()
}

macro_rules! method_attr {
    ($($(#[$doc:meta])* $name:ident => $method:ident;)*) => {$(
        $(#[$doc])*
        #[proc_macro_attribute]
        pub fn $name(args: TokenStream, item: TokenStream) -> TokenStream {
            debug(
                stringify!($name),
                route::expand(Some(route::HttpMethod::$method), args.into(), item.into()),
            )
        }
    )*};
}

method_attr! {
    /// Routes `GET` requests on a path to this function: `#[get("/users/<id>")]`.
    ///
    /// See the `lambada` crate documentation for the path grammar and the
    /// handler arguments.
    get => Get;
    /// Routes `POST` requests: `#[post("/items")]`.
    post => Post;
    /// Routes `PUT` requests: `#[put("/items/<id>")]`.
    put => Put;
    /// Routes `DELETE` requests: `#[delete("/items/<id>")]`.
    delete => Delete;
    /// Routes `PATCH` requests: `#[patch("/items/<id>")]`.
    patch => Patch;
    /// Routes `HEAD` requests: `#[head("/items/<id>")]`.
    head => Head;
    /// Routes `OPTIONS` requests: `#[options("/items")]`.
    options => Options;
}

/// Routes requests with the given method: `#[route(GET, "/users/<id>")]`.
#[proc_macro_attribute]
pub fn route(args: TokenStream, item: TokenStream) -> TokenStream {
    debug("route", route::expand(None, args.into(), item.into()))
}

/// Builds a route table from handlers: `routes![index, users::create]`.
///
/// The table is a `const`: a route that collides with another, or that API
/// Gateway would refuse beside another, is a compile error under its name.
#[proc_macro]
pub fn routes(input: TokenStream) -> TokenStream {
    debug("routes!", routes::expand(input.into()))
}

/// Runs an `async fn main` on a single-threaded tokio runtime (what a Lambda
/// function's fraction of a vCPU calls for); `#[lambada::main(flavor =
/// "multi_thread")]` for the multi-thread scheduler.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    debug("main", main_attr::expand(args.into(), item.into()))
}

/// Derives `HttpError` and `IntoResponse` for an error type: each variant
/// (or the type itself) carries `#[status(NOT_FOUND)]` or `#[status(404)]`;
/// the response is a problem document with the `Display` text.
#[proc_macro_derive(HttpError, attributes(status))]
pub fn derive_http_error(input: TokenStream) -> TokenStream {
    debug("derive(HttpError)", http_error::expand(input.into()))
}
