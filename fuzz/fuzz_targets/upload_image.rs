//! `linkup_fuzz::upload_image` on every input (see `fuzz/src/lib.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(
    // libfuzzer-sys aborts on every panic, even one caught: `media::process` catches a panic
    // of the image decoders (other crates' code) and keeps the file undecoded, so the default
    // hook comes back. A panic that escapes the target still aborts the run.
    init: drop(std::panic::take_hook()),
    |data: &[u8]| linkup_fuzz::upload_image(data)
);
