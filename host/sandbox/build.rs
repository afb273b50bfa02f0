//! Derives two versions at build time so no source file repeats them:
//! the `gatehouse:agent` WIT package version, from `wit/agent.wit`, and the
//! wasmtime version this host links, from the workspace's `Cargo.lock`.

use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let wit = root.join("wit/agent.wit");
    let lock = root.join("Cargo.lock");
    println!("cargo:rerun-if-changed={}", wit.display());
    println!("cargo:rerun-if-changed={}", lock.display());

    let text = read(&wit);
    let Some(version) = text.lines().find_map(|l| {
        l.trim()
            .strip_prefix("package gatehouse:agent@")
            .map(|v| v.trim_end_matches(';').trim().to_string())
    }) else {
        fail(&wit, "no `package gatehouse:agent@<version>;` line");
    };
    println!("cargo:rustc-env=GATEHOUSE_WIT_VERSION={version}");

    let text = read(&lock);
    let mut lines = text.lines();
    let mut wasmtime = None;
    while let Some(l) = lines.next() {
        if l.trim() == "name = \"wasmtime\"" {
            wasmtime = lines.next().and_then(|v| {
                v.trim()
                    .strip_prefix("version = \"")
                    .and_then(|v| v.strip_suffix('"'))
                    .map(str::to_string)
            });
            break;
        }
    }
    let Some(wasmtime) = wasmtime else {
        fail(&lock, "no `wasmtime` package");
    };
    println!("cargo:rustc-env=GATEHOUSE_WASMTIME_VERSION={wasmtime}");
}

fn read(path: &Path) -> String {
    match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => fail(path, &e.to_string()),
    }
}

fn fail(path: &Path, why: &str) -> ! {
    eprintln!("gatehouse-sandbox build: `{}`: {why}", path.display());
    std::process::exit(1)
}
