//! Well-formed HTTP events of every kind, built from an arbitrary request
//! (method, path, query, headers, cookies, body, stage, authorizer result),
//! dispatched, and the answer checked against the route table's rules (see
//! `lambada_fuzz::event::structured`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: lambada_fuzz::allow_intended_panics(), |input: lambada_fuzz::event::Input| {
    lambada_fuzz::event::structured(&input);
});
