//! Guests in other languages: Python (componentize-py) and JavaScript
//! (componentize-js), each built with a pinned version of its toolchain.
//!
//! A guest directory holds `app.py` (Python) or `app.js` (JavaScript), and
//! for a policy pack a `pack.toml`; a directory without `pack.toml` is a
//! skill. [`build_guest`] writes the component to `<dir>/target/gatehouse/`
//! (a pack's as `<pack name>.wasm` beside its pinned manifest
//! `<pack name>.pack.toml`, a skill's as `<dir name>.wasm`).
//!
//! The toolchains are found through `GATEHOUSE_COMPONENTIZE_PY` and
//! `GATEHOUSE_COMPONENTIZE_JS`, else where `scripts/lang-toolchains.sh`
//! installs them in this checkout (`lang/python/.venv`, `lang/js/node_modules`),
//! else on `PATH`; a version other than the pinned one is refused.

use crate::build::{BuildError, Built, WIT_SOURCE, write_atomic, write_pinned_manifest};
use crate::manifest::PackManifest;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The componentize-py version gatehouse builds Python guests with.
pub const COMPONENTIZE_PY_VERSION: &str = "0.25.1";

/// The componentize-js version gatehouse builds JavaScript guests with.
pub const COMPONENTIZE_JS_VERSION: &str = "0.23.0";

/// The language of a guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// A Rust crate (`Cargo.toml`), built by [`crate::build::build_crates`].
    Rust,
    /// `app.py`, built by componentize-py with `--stub-wasi`.
    Python,
    /// `app.js`, built by componentize-js.
    Js,
}

impl Lang {
    /// Parse `rust`, `python` or `js`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "rust" => Some(Self::Rust),
            "python" | "py" => Some(Self::Python),
            "js" | "javascript" => Some(Self::Js),
            _ => None,
        }
    }

    /// The language of the guest in `dir`: the `lang` key of its
    /// `pack.toml` when set, else `Cargo.toml` (rust), `app.py` (python)
    /// or `app.js` (js), in that order.
    pub fn detect(dir: &Path) -> Result<Self, BuildError> {
        let manifest = dir.join("pack.toml");
        if manifest.exists()
            && let Some(lang) = PackManifest::load(&manifest)?.pack.lang
        {
            return Self::parse(&lang).ok_or_else(|| {
                BuildError::Toolchain(format!(
                    "`{}`: unknown `lang = \"{lang}\"` (rust, python or js)",
                    manifest.display()
                ))
            });
        }
        for (file, lang) in [
            ("Cargo.toml", Self::Rust),
            ("app.py", Self::Python),
            ("app.js", Self::Js),
        ] {
            if dir.join(file).exists() {
                return Ok(lang);
            }
        }
        Err(BuildError::Toolchain(format!(
            "`{}` has none of Cargo.toml, app.py, app.js",
            dir.display()
        )))
    }
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Rust => "rust",
            Self::Python => "python",
            Self::Js => "js",
        })
    }
}

/// This checkout's root (where `scripts/lang-toolchains.sh` installs).
fn checkout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Where a toolchain is, and its version checked against the pin.
fn toolchain(lang: Lang) -> Result<PathBuf, BuildError> {
    let (var, local, name, pinned) = match lang {
        Lang::Python => (
            "GATEHOUSE_COMPONENTIZE_PY",
            checkout().join("lang/python/.venv/bin/componentize-py"),
            "componentize-py",
            COMPONENTIZE_PY_VERSION,
        ),
        Lang::Js => (
            "GATEHOUSE_COMPONENTIZE_JS",
            checkout().join("lang/js/node_modules/.bin/componentize-js"),
            "componentize-js",
            COMPONENTIZE_JS_VERSION,
        ),
        Lang::Rust => return Err(BuildError::Toolchain("rust guests build with cargo".into())),
    };
    let path = match std::env::var_os(var) {
        Some(p) => PathBuf::from(p),
        None if local.exists() => local,
        None => PathBuf::from(name),
    };
    let install = "install the pinned toolchains with `scripts/lang-toolchains.sh`";
    let out = Command::new(&path).arg("--version").output().map_err(|e| {
        BuildError::Toolchain(format!("cannot run `{}`: {e}; {install}", path.display()))
    })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text.split_whitespace().last().unwrap_or("").trim();
    if !out.status.success() || version != pinned {
        return Err(BuildError::Toolchain(format!(
            "`{}` is {name} {version:?}; gatehouse pins {pinned}: {install}",
            path.display()
        )));
    }
    Ok(path)
}

/// Build the Python or JavaScript guest in `dir` (see the module docs).
pub fn build_guest(dir: &Path, lang: Lang) -> Result<Built, BuildError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| BuildError::Io { path, source }
    };
    let dir = std::fs::canonicalize(dir).map_err(io(dir))?;
    let out_dir = dir.join("target/gatehouse");
    let wit_dir = out_dir.join("wit");
    std::fs::create_dir_all(&wit_dir).map_err(io(&wit_dir))?;
    write_atomic(&wit_dir.join("agent.wit"), WIT_SOURCE.as_bytes())?;
    let manifest = match dir.join("pack.toml") {
        m if m.exists() => Some(PackManifest::load(&m)?),
        _ => None,
    };
    let (world, stem) = match &manifest {
        Some(m) => ("policy-world", m.pack.name.clone()),
        None => (
            "skill-world",
            dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "skill".into()),
        ),
    };
    let path = out_dir.join(format!("{stem}.wasm"));
    let tool = toolchain(lang)?;
    // The toolchains' builds are not byte-reproducible (see the README), so
    // an unchanged guest is not rebuilt: its component is kept while the
    // inputs' digest matches the one recorded beside it.
    let inputs = inputs_digest(&dir, lang, world)?;
    let stamp = out_dir.join(format!("{stem}.inputs"));
    let fresh = std::fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == inputs) && path.exists();
    if !fresh {
        run_toolchain(&tool, &dir, lang, world, &wit_dir, &path)?;
        write_atomic(&stamp, inputs.as_bytes())?;
    }
    finish(&path, &out_dir, stem, manifest)
}

/// blake3 over what a Python or JavaScript build depends on: the sources
/// (`*.py`, `*.js`, `*.mjs` under `dir`, outside `target/`,
/// `node_modules/` and hidden directories), the WIT, the world and the
/// pinned toolchain version.
fn inputs_digest(dir: &Path, lang: Lang, world: &str) -> Result<String, BuildError> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|source| BuildError::Io {
            path: d.clone(),
            source,
        })?;
        for entry in entries.flatten() {
            let p = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if p.is_dir() {
                if !(name.starts_with('.') || name == "target" || name == "node_modules") {
                    stack.push(p);
                }
            } else if [".py", ".js", ".mjs"].iter().any(|e| name.ends_with(e)) {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut h = blake3::Hasher::new();
    let version = match lang {
        Lang::Python => COMPONENTIZE_PY_VERSION,
        _ => COMPONENTIZE_JS_VERSION,
    };
    for part in [lang.to_string().as_str(), version, world, WIT_SOURCE] {
        h.update(&(part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    for f in files {
        let bytes = std::fs::read(&f).map_err(|source| BuildError::Io {
            path: f.clone(),
            source,
        })?;
        let rel = f
            .strip_prefix(dir)
            .unwrap_or(&f)
            .to_string_lossy()
            .into_owned();
        h.update(&(rel.len() as u64).to_le_bytes());
        h.update(rel.as_bytes());
        h.update(&(bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    Ok(h.finalize().to_hex().to_string())
}

fn run_toolchain(
    tool: &Path,
    dir: &Path,
    lang: Lang,
    world: &str,
    wit_dir: &Path,
    path: &Path,
) -> Result<(), BuildError> {
    let mut cmd = Command::new(tool);
    cmd.current_dir(dir);
    match lang {
        Lang::Python => {
            // --stub-wasi: the component imports no WASI at all (CPython's
            // build would import sockets and the whole filesystem).
            cmd.arg("-q")
                .arg("-d")
                .arg(wit_dir)
                .args(["-w", world, "componentize", "--stub-wasi", "app", "-o"])
                .arg(path);
        }
        Lang::Js => {
            // Without `-d http fetch-event` the component imports wasi:http.
            cmd.arg("app.js")
                .arg("--wit")
                .arg(wit_dir)
                .args(["-n", world, "-o"])
                .arg(path)
                .args(["-d", "http", "fetch-event"]);
        }
        Lang::Rust => return Err(BuildError::Toolchain("rust guests build with cargo".into())),
    }
    let out = cmd
        .output()
        .map_err(|e| BuildError::Toolchain(format!("cannot run `{}`: {e}", tool.display())))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let detail = stderr
            .lines()
            .chain(stdout.lines())
            .filter(|l| !l.trim().is_empty())
            .take(20)
            .collect::<Vec<_>>()
            .join("\n");
        return Err(BuildError::Toolchain(format!(
            "`{}` failed ({}) building `{}`:\n{detail}",
            tool.display(),
            out.status,
            dir.display()
        )));
    }
    Ok(())
}

fn finish(
    path: &Path,
    out_dir: &Path,
    stem: String,
    manifest: Option<PackManifest>,
) -> Result<Built, BuildError> {
    let component = std::fs::read(path).map_err(|source| BuildError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let hash = blake3::hash(&component);
    let manifest = manifest
        .map(|m| write_pinned_manifest(m, out_dir, &stem, &hash))
        .transpose()?;
    Ok(Built {
        package: stem,
        manifest,
        path: path.to_path_buf(),
        hash,
        size: component.len(),
    })
}

/// Scaffold a Python or JavaScript guest in `dir` (which must not exist or
/// be empty): a policy pack (`pack.toml`, `cases.json`, the app) or a skill
/// (the app alone). It builds and passes its cases as created.
pub fn scaffold(
    dir: &Path,
    name: &str,
    lang: Lang,
    kind: crate::Kind,
) -> Result<Vec<PathBuf>, std::io::Error> {
    let bad = |m: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, m);
    let valid = name.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !valid {
        return Err(bad(format!(
            "name `{name}`: use lowercase letters, digits and `-`, starting with a letter"
        )));
    }
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        return Err(bad(format!("`{}` exists and is not empty", dir.display())));
    }
    let (app, source) = match (lang, kind) {
        (Lang::Python, crate::Kind::Policy) => {
            ("app.py", include_str!("../templates/python/policy.py"))
        }
        (Lang::Python, crate::Kind::Skill) => {
            ("app.py", include_str!("../templates/python/skill.py"))
        }
        (Lang::Js, crate::Kind::Policy) => ("app.js", include_str!("../templates/js/policy.js")),
        (Lang::Js, crate::Kind::Skill) => ("app.js", include_str!("../templates/js/skill.js")),
        (Lang::Rust, _) => return Err(bad("rust guests: use the rust template".into())),
    };
    let mut files = vec![(app, source), (".gitignore", "target/\n")];
    if kind == crate::Kind::Policy {
        files.push(("pack.toml", include_str!("../templates/pack.toml")));
        files.push(("cases.json", include_str!("../templates/cases.json")));
    }
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (file, text) in files {
        let path = dir.join(file);
        let text = text
            .replace("{{name}}", name)
            .replace("{{lang}}", &lang.to_string());
        std::fs::write(&path, text)?;
        written.push(path);
    }
    Ok(written)
}
