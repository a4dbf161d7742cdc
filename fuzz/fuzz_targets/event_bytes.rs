//! Arbitrary bytes as a Lambda event to the HTTP function: never a panic,
//! an abort or a hang; every answer a well-formed response in the shape of
//! the event (see `lambada_fuzz::event::bytes`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: lambada_fuzz::allow_intended_panics(), |data: &[u8]| {
    lambada_fuzz::event::bytes(data);
});
