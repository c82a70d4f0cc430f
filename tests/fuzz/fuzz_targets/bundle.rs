//! cargo-fuzz target `bundle`: see [`genrescope_fuzz::bundle`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| genrescope_fuzz::bundle(data));
