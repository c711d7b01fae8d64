//! Puts `memory.x` where cortex-m-rt's linker script finds it.
use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    std::fs::copy("memory.x", out.join("memory.x")).unwrap_or_default();
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
}
