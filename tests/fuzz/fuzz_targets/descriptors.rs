//! cargo-fuzz target `descriptors`: see [`genrescope_fuzz::descriptors`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| genrescope_fuzz::descriptors(data));
