//! Replays the fuzz targets' seeds and every input that once made a target fail
//! (`tests/fuzz/regressions/`) through the same checks libFuzzer runs, so that a fixed finding
//! stays fixed without a fuzzing toolchain.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)] // test code

use std::path::{Path, PathBuf};

use lwa_tests::fuzz;

fn inputs(kind: &str, target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind)
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .map(|e| {
            let path = e.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect();
    files.sort();
    files
}

/// Runs `check` on each input, naming the file when one fails.
fn replay(inputs: &[(PathBuf, Vec<u8>)], check: fn(&[u8])) {
    for (path, data) in inputs {
        let result = std::panic::catch_unwind(|| check(data));
        assert!(result.is_ok(), "{} broke an invariant", path.display());
    }
}

#[test]
fn response_seeds_and_regressions() {
    let seeds = inputs("seeds", "response");
    assert!(seeds.len() >= 8, "the public vectors are the seeds");
    // The raw answers with the control prefixes `run.sh` gives them: whole, code pair,
    // 1-byte pieces, reads of 7, a tight buffer with pieces of 64 and 3, and a code pair
    // with reads of 1, 5 and 32.
    let prefixes: [&[u8]; 6] = [
        b"\x00",
        b"\x80",
        b"\x01\x01",
        b"\x09\x07",
        b"\x42\x40\x03",
        b"\x8b\x01\x05\x20",
    ];
    let mut laid_out = Vec::new();
    for (path, answer) in &seeds {
        for prefix in prefixes {
            laid_out.push((path.clone(), [prefix, answer].concat()));
        }
    }
    replay(&laid_out, fuzz::response::check);
    let regressions = inputs("regressions", "response");
    assert!(regressions.len() >= 3);
    replay(&regressions, fuzz::response::check);
}

#[test]
fn json_seeds_and_regressions() {
    let seeds = inputs("seeds", "json");
    assert!(seeds.len() >= 5);
    replay(&seeds, fuzz::json::check);
    let regressions = inputs("regressions", "json");
    assert!(!regressions.is_empty());
    replay(&regressions, fuzz::json::check);
}

#[test]
fn request_seeds_and_regressions() {
    let seeds = inputs("seeds", "request");
    assert!(seeds.len() >= 5);
    replay(&seeds, fuzz::request::check);
    replay(&inputs("regressions", "request"), fuzz::request::check);
}
