//! See `lwa_tests::fuzz::request` for what this target checks and its input layout.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lwa_tests::fuzz::request::check(data));
