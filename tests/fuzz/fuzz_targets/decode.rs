//! cargo-fuzz target `decode`: see [`genrescope_fuzz::decode`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| genrescope_fuzz::decode(data));
