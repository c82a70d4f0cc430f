//! cargo-fuzz target `classify`: see [`genrescope_fuzz::classify`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| genrescope_fuzz::classify(data));
