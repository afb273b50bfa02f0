//! Build guests: compile Rust crates for `wasm32-unknown-unknown` and
//! encode the core modules as gatehouse components, reproducibly.
//!
//! The world a component implements is decided by what the module exports
//! (`gatehouse:agent/policy@…#validate` or `gatehouse:agent/skill@…#act`),
//! and the component type embedded is this host's own copy of the WIT
//! package, so the result does not depend on which bindings the guest's
//! SDK carried.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The WIT package this host implements, as shipped in `wit/`.
pub const WIT_SOURCE: &str = include_str!("../../../wit/agent.wit");

/// The cargo profile used for guests (see the workspace `Cargo.toml`).
pub const GUEST_PROFILE: &str = "guest";

/// The target guests are compiled for.
pub const GUEST_TARGET: &str = "wasm32-unknown-unknown";

/// A guest could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A core module could not be encoded as a component.
    #[error("cannot encode `{name}` as a component: {reason}")]
    Encode {
        /// The module.
        name: String,
        /// Why.
        reason: String,
    },
    /// Cargo failed or could not be started.
    #[error("cargo failed: {0}")]
    Cargo(String),
    /// The crate's `pack.toml` is malformed.
    #[error("{0}")]
    Manifest(#[from] gatehouse_sandbox::LoadError),
    /// The built pack's manifest could not be written as TOML.
    #[error("{0}")]
    WriteManifest(String),
    /// A language toolchain is missing, of another version, or failed.
    #[error("{0}")]
    Toolchain(String),
    /// A file could not be read or written.
    #[error("`{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// A built component.
#[derive(Clone, Debug)]
pub struct Built {
    /// The cargo package name.
    pub package: String,
    /// The pack manifest written beside it (packs with a `pack.toml`).
    pub manifest: Option<PathBuf>,
    /// Where the component was written.
    pub path: PathBuf,
    /// Its blake3.
    pub hash: blake3::Hash,
    /// Its size in bytes.
    pub size: usize,
}

/// Encode a core wasm module built with the gatehouse guest SDK (or any
/// bindings of `gatehouse:agent`) as a component.
pub fn componentize(module: &[u8], name: &str) -> Result<Vec<u8>, BuildError> {
    let err = |reason: String| BuildError::Encode {
        name: name.to_string(),
        reason,
    };
    let world = guest_world(module).map_err(err)?;
    let mut stripped = strip_component_types(module).map_err(err)?;
    let mut resolve = wit_parser::Resolve::default();
    let pkg = resolve
        .push_source("agent.wit", WIT_SOURCE)
        .map_err(|e| err(format!("{e:#}")))?;
    let world_id = resolve
        .select_world(&[pkg], Some(world))
        .map_err(|e| err(format!("{e:#}")))?;
    wit_component::embed_component_metadata(
        &mut stripped,
        &resolve,
        world_id,
        wit_component::StringEncoding::UTF8,
        false,
    )
    .map_err(|e| err(format!("{e:#}")))?;
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(&stripped)
        .and_then(|e| e.encode())
        .map_err(|e| err(format!("{e:#}")))
}

/// `policy-world` or `skill-world`, from the module's exports.
fn guest_world(module: &[u8]) -> Result<&'static str, String> {
    let mut policy = false;
    let mut skill = false;
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        if let wasmparser::Payload::ExportSection(reader) = payload.map_err(|e| e.to_string())? {
            for export in reader {
                let export = export.map_err(|e| e.to_string())?;
                policy |= export.name.starts_with("gatehouse:agent/policy@");
                skill |= export.name.starts_with("gatehouse:agent/skill@");
            }
        }
    }
    match (policy, skill) {
        (true, false) => Ok("policy-world"),
        (false, true) => Ok("skill-world"),
        (true, true) => Err("the module exports both a policy and a skill".to_string()),
        (false, false) => Err("the module exports neither a policy nor a skill: call `gatehouse_guest::export_policy!` or `export_skill!`".to_string()),
    }
}

/// The module without `component-type` custom sections.
fn strip_component_types(module: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(module.len());
    out.extend_from_slice(module.get(..8).ok_or("truncated module")?);
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        let payload = payload.map_err(|e| e.to_string())?;
        if let wasmparser::Payload::CustomSection(c) = &payload
            && c.name().starts_with("component-type")
        {
            continue;
        }
        if let Some((id, range)) = payload.as_section() {
            let range = range.start as usize..range.end as usize;
            out.push(id);
            let mut len = range.len() as u64;
            loop {
                let byte = (len & 0x7f) as u8;
                len >>= 7;
                if len == 0 {
                    out.push(byte);
                    break;
                }
                out.push(byte | 0x80);
            }
            out.extend_from_slice(&module[range]);
        }
    }
    Ok(out)
}

/// Build the Rust guest crates in `dirs` (one cargo invocation) and write
/// their components to `out_dir` (default `<target>/gatehouse`) as
/// `<package>.wasm`; a crate with a `pack.toml` is written as
/// `<pack name>.wasm` with `<pack name>.pack.toml` beside it, the manifest
/// pinning the component's blake3.
///
/// Paths are remapped so the bytes do not depend on where the checkout or
/// the cargo home lives: two builds from clean trees give the same blake3.
pub fn build_crates(
    dirs: &[PathBuf],
    target_dir: Option<&Path>,
    out_dir: Option<&Path>,
) -> Result<Vec<Built>, BuildError> {
    let mut packages = Vec::new();
    let mut meta_target = None;
    let mut workspace_root = None;
    for dir in dirs {
        let meta = cargo_metadata(dir)?;
        let manifest =
            std::fs::canonicalize(dir.join("Cargo.toml")).map_err(|source| BuildError::Io {
                path: dir.join("Cargo.toml"),
                source,
            })?;
        let name = meta["packages"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["manifest_path"].as_str().map(Path::new) == Some(manifest.as_path()))
            .and_then(|p| p["name"].as_str())
            .ok_or_else(|| BuildError::Cargo(format!("no package at `{}`", dir.display())))?;
        packages.push(name.to_string());
        meta_target.get_or_insert_with(|| meta["target_directory"].as_str().map(PathBuf::from));
        workspace_root.get_or_insert_with(|| meta["workspace_root"].as_str().map(PathBuf::from));
    }
    let Some(first) = dirs.first() else {
        return Ok(Vec::new());
    };
    let target_dir = match target_dir {
        Some(t) => t.to_path_buf(),
        None => meta_target
            .flatten()
            .ok_or_else(|| BuildError::Cargo("no target directory".into()))?,
    };
    let out_dir = out_dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| target_dir.join("gatehouse"));
    let root = workspace_root.flatten().unwrap_or_else(|| first.clone());
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let mut flags = vec![format!("--remap-path-prefix={}=/gatehouse", root.display())];
    if let Some(home) = cargo_home {
        flags.push(format!("--remap-path-prefix={}=/cargo", home.display()));
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--quiet")
        .args(["--profile", GUEST_PROFILE, "--target", GUEST_TARGET])
        .arg("--manifest-path")
        .arg(first.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        .env("CARGO_ENCODED_RUSTFLAGS", flags.join("\u{1f}"))
        .env_remove("RUSTFLAGS");
    for p in &packages {
        cmd.args(["-p", p]);
    }
    let status = cmd
        .status()
        .map_err(|e| BuildError::Cargo(format!("cannot start cargo: {e}")))?;
    if !status.success() {
        return Err(BuildError::Cargo(format!(
            "`cargo build --target {GUEST_TARGET}` exited with {status} (is the target installed? `rustup target add {GUEST_TARGET}`)"
        )));
    }
    std::fs::create_dir_all(&out_dir).map_err(|source| BuildError::Io {
        path: out_dir.clone(),
        source,
    })?;
    let mut built = Vec::new();
    for (dir, package) in dirs.iter().zip(packages) {
        let module_path = target_dir
            .join(GUEST_TARGET)
            .join(GUEST_PROFILE)
            .join(format!("{}.wasm", package.replace('-', "_")));
        let module = std::fs::read(&module_path).map_err(|source| BuildError::Io {
            path: module_path.clone(),
            source,
        })?;
        let component = componentize(&module, &package)?;
        let hash = blake3::hash(&component);
        let manifest_src = dir.join("pack.toml");
        let manifest = if manifest_src.exists() {
            Some(crate::manifest::PackManifest::load(&manifest_src)?)
        } else {
            None
        };
        let stem = manifest
            .as_ref()
            .map(|m| m.pack.name.clone())
            .unwrap_or_else(|| package.clone());
        let path = out_dir.join(format!("{stem}.wasm"));
        write_atomic(&path, &component)?;
        let manifest = manifest
            .map(|m| write_pinned_manifest(m, &out_dir, &stem, &hash))
            .transpose()?;
        built.push(Built {
            package,
            manifest,
            path,
            hash,
            size: component.len(),
        });
    }
    Ok(built)
}

fn cargo_metadata(dir: &Path) -> Result<serde_json::Value, BuildError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(dir.join("Cargo.toml"))
        .output()
        .map_err(|e| BuildError::Cargo(format!("cannot start cargo: {e}")))?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr);
        return Err(BuildError::Cargo(format!(
            "`{}`: {}",
            dir.display(),
            msg.lines().next().unwrap_or("cargo metadata failed")
        )));
    }
    serde_json::from_slice(&out.stdout)
        .map_err(|e| BuildError::Cargo(format!("cargo metadata: {e}")))
}

/// Write a pack's built manifest beside its component, pinned to the
/// component's file and blake3; returns its path.
pub(crate) fn write_pinned_manifest(
    mut m: crate::PackManifest,
    out_dir: &Path,
    stem: &str,
    hash: &blake3::Hash,
) -> Result<PathBuf, BuildError> {
    m.component = Some(crate::manifest::ComponentPin {
        path: format!("{stem}.wasm"),
        blake3: hash.to_hex().to_string(),
    });
    let mpath = out_dir.join(format!("{stem}.pack.toml"));
    write_atomic(
        &mpath,
        m.to_toml().map_err(BuildError::WriteManifest)?.as_bytes(),
    )?;
    Ok(mpath)
}

pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), BuildError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|source| BuildError::Io {
        path: tmp.clone(),
        source,
    })?;
    std::fs::rename(&tmp, path).map_err(|source| BuildError::Io {
        path: path.to_path_buf(),
        source,
    })
}
