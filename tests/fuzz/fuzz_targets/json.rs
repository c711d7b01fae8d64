//! See `lwa_tests::fuzz::json` for what this target checks and its input layout.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lwa_tests::fuzz::json::check(data));
