//! Arbitrary bytes and arbitrary records of every trigger kind to every
//! trigger handler (see `lambada_fuzz::trigger`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: lambada_fuzz::allow_intended_panics(), |input: lambada_fuzz::trigger::Input| {
    lambada_fuzz::trigger::run(&input);
});
