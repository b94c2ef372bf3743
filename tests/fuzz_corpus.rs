//! The fuzz corpus as a regression test: every file kept under `fuzz/corpus/<target>/` and every
//! crash kept under `fuzz/regressions/<target>/` goes through the same function as the fuzz
//! target of that name (`fuzz/src/lib.rs`, included here as it is), which asserts it does not
//! panic and keeps each parser's invariants. `scripts/fuzz` finds new inputs; this runs the
//! kept ones in `cargo test`, without cargo-fuzz.

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod harness;

use std::path::{Path, PathBuf};

/// The files of `fuzz/<kind>/<target>/`, sorted (none when the folder is absent).
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind)
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `target` on every kept input of its name; the panic of one names its file.
fn replay(name: &str, target: fn(&[u8])) -> usize {
    let mut count = 0;
    for kind in ["corpus", "regressions"] {
        for path in inputs(kind, name) {
            let data = std::fs::read(&path).expect("a corpus file is readable");
            let outcome = std::panic::catch_unwind(|| target(&data));
            assert!(outcome.is_ok(), "{name} panics on {}", path.display());
            count += 1;
        }
    }
    count
}

#[test]
fn every_kept_input_goes_through_its_target_without_a_panic() {
    for (name, target) in harness::TARGETS {
        let count = replay(name, target);
        assert!(count > 0, "fuzz/corpus/{name}/ keeps no input");
    }
}

#[test]
fn every_target_has_a_fuzz_target_file_and_a_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("fuzz/Cargo.toml");
    for (name, _) in harness::TARGETS {
        assert!(
            root.join("fuzz_targets")
                .join(format!("{name}.rs"))
                .is_file(),
            "fuzz/fuzz_targets/{name}.rs"
        );
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "{name} is a [[bin]] of fuzz/Cargo.toml"
        );
    }
}
