//! Puts `memory.x` where the linker finds it and passes the linker scripts: cortex-m-rt's
//! `link.x`, embassy-rp's `link-rp.x` (the boot loader section) and defmt's `defmt.x`.

use std::path::PathBuf;
use std::{env, fs};

fn main() -> std::io::Result<()> {
    // Cargo always sets OUT_DIR for build scripts.
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default());
    fs::write(out.join("memory.x"), include_bytes!("memory.x"))?;
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
    // The credentials come in with env!, which Cargo tracks itself: a changed variable
    // rebuilds the firmware.
    println!("cargo:rustc-link-arg-bins=--nmagic");
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    println!("cargo:rustc-link-arg-bins=-Tlink-rp.x");
    println!("cargo:rustc-link-arg-bins=-Tdefmt.x");
    Ok(())
}
