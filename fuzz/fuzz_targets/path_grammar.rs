//! Any string through the route-path grammar, and paths built from valid
//! pieces (see `lambada_fuzz::path`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: lambada_fuzz::path::Input| {
    lambada_fuzz::path::run(&input);
});
