//! The app the benchmarks measure: the same 50 routes as the `axum-hello`
//! peer of `../shared/bench-rig` (`lambda_http` + `axum`), written with
//! Lambada.
//!
//! * `GET /hello/<id>` → text `Hello world: {id}`
//! * `POST /items` → echoes the JSON body
//! * `GET /r0/<x>` … `GET /r47/<x>` → text `r{i}: {x}` (dummy routes, so
//!   that routing is not trivial)
//!
//! [`app`] is served by the `lambada-hello` bootstrap (measured by the rig,
//! see `rig.sh`) and dispatched in-process by the `dispatch` Criterion
//! bench. The axum mirror lives in `benches/dispatch.rs` only, so that
//! `lambda_http` and `axum` stay dev-dependencies.
//!
//! The handlers are private: `#[lambada::get]` emits a `pub struct` per
//! public handler without `Debug`, which the workspace's
//! `missing_debug_implementations` lint flags in a library.
#![warn(missing_docs)]

use lambada::Json;
use serde_json::Value;

/// `GET /hello/42` → `Hello world: 42`.
#[lambada::get("/hello/<id>")]
async fn hello(id: &str) -> String {
    format!("Hello world: {id}")
}

/// `POST /items` echoes its JSON body.
#[lambada::post("/items")]
async fn items(Json(v): Json<Value>) -> Json<Value> {
    Json(v)
}

/// One dummy `GET` route per `name "path" "label";` line.
macro_rules! dummy_routes {
    ($($name:ident $path:tt $label:tt;)*) => {$(
        #[doc = concat!("`GET ", $path, "` → `", $label, ": {x}` (a dummy route).")]
        #[lambada::get($path)]
        async fn $name(x: &str) -> String {
            format!(concat!($label, ": {}"), x)
        }
    )*};
}

dummy_routes! {
    r0 "/r0/<x>" "r0";
    r1 "/r1/<x>" "r1";
    r2 "/r2/<x>" "r2";
    r3 "/r3/<x>" "r3";
    r4 "/r4/<x>" "r4";
    r5 "/r5/<x>" "r5";
    r6 "/r6/<x>" "r6";
    r7 "/r7/<x>" "r7";
    r8 "/r8/<x>" "r8";
    r9 "/r9/<x>" "r9";
    r10 "/r10/<x>" "r10";
    r11 "/r11/<x>" "r11";
    r12 "/r12/<x>" "r12";
    r13 "/r13/<x>" "r13";
    r14 "/r14/<x>" "r14";
    r15 "/r15/<x>" "r15";
    r16 "/r16/<x>" "r16";
    r17 "/r17/<x>" "r17";
    r18 "/r18/<x>" "r18";
    r19 "/r19/<x>" "r19";
    r20 "/r20/<x>" "r20";
    r21 "/r21/<x>" "r21";
    r22 "/r22/<x>" "r22";
    r23 "/r23/<x>" "r23";
    r24 "/r24/<x>" "r24";
    r25 "/r25/<x>" "r25";
    r26 "/r26/<x>" "r26";
    r27 "/r27/<x>" "r27";
    r28 "/r28/<x>" "r28";
    r29 "/r29/<x>" "r29";
    r30 "/r30/<x>" "r30";
    r31 "/r31/<x>" "r31";
    r32 "/r32/<x>" "r32";
    r33 "/r33/<x>" "r33";
    r34 "/r34/<x>" "r34";
    r35 "/r35/<x>" "r35";
    r36 "/r36/<x>" "r36";
    r37 "/r37/<x>" "r37";
    r38 "/r38/<x>" "r38";
    r39 "/r39/<x>" "r39";
    r40 "/r40/<x>" "r40";
    r41 "/r41/<x>" "r41";
    r42 "/r42/<x>" "r42";
    r43 "/r43/<x>" "r43";
    r44 "/r44/<x>" "r44";
    r45 "/r45/<x>" "r45";
    r46 "/r46/<x>" "r46";
    r47 "/r47/<x>" "r47";
}

/// The route table: `hello`, `items`, then `r0` … `r47`, in the order the
/// axum peer registers them.
pub fn app() -> lambada::Routes {
    lambada::routes![
        hello, items, r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12, r13, r14, r15, r16,
        r17, r18, r19, r20, r21, r22, r23, r24, r25, r26, r27, r28, r29, r30, r31, r32, r33, r34,
        r35, r36, r37, r38, r39, r40, r41, r42, r43, r44, r45, r46, r47,
    ]
}
