//! `linkup_fuzz::input` on every input (see `fuzz/src/lib.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| linkup_fuzz::input(data));
