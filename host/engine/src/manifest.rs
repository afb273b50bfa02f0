//! Pack manifests (`pack.toml`): who owns a pack, its rules, its
//! configuration, and — once built — the exact component it pins.
//!
//! ```toml
//! schema = 1
//! [pack]
//! name = "brand"
//! version = "0.1.0"
//! description = "Brand safety"
//! owners = ["brand-team@acme.example"]
//! crate = "gatehouse-pack-brand"
//! [[rules]]
//! id = "brand.banned-claim"
//! severity = "high"
//! description = "No banned or risky claims"
//! [config]
//! brand-name = "Acme"
//! # written by `gatehouse build`:
//! [component]
//! path = "brand.wasm"
//! blake3 = "…"
//! ```

use gatehouse_sandbox::LoadError;
use gatehouse_sandbox::Severity;
use gatehouse_sandbox::{Guest, Kind, Sandbox};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The manifest schema version this host reads and writes.
pub const MANIFEST_SCHEMA: u32 = 1;

/// A pack manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackManifest {
    /// Schema version; must be [`MANIFEST_SCHEMA`].
    pub schema: u32,
    /// Identity and ownership.
    pub pack: PackMeta,
    /// The rules the pack applies; must match what the component describes.
    #[serde(default)]
    pub rules: Vec<RuleMeta>,
    /// Values served to the pack through `host.config`.
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    /// The built component, pinned by hash (written by `gatehouse build`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<ComponentPin>,
}

/// Identity and ownership of a pack.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackMeta {
    /// Pack name; must match the component's own.
    pub name: String,
    /// Pack version (semver); must match the component's own.
    pub version: String,
    /// What the pack is for.
    #[serde(default)]
    pub description: String,
    /// Who answers for it.
    #[serde(default)]
    pub owners: Vec<String>,
    /// The cargo package that builds it, for Rust packs.
    #[serde(default, rename = "crate", skip_serializing_if = "Option::is_none")]
    pub krate: Option<String>,
    /// The language it is written in: `rust`, `python` or `js` (default:
    /// told by the files, see [`crate::lang::Lang::detect`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// One rule as the manifest lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleMeta {
    /// Rule id.
    pub id: String,
    /// Severity.
    pub severity: Severity,
    /// What it checks.
    pub description: String,
    /// The law or rule it applies; must match what the component describes.
    #[serde(default)]
    pub citation: Option<String>,
}

/// The exact component a manifest stands for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentPin {
    /// Path of the component, relative to the manifest.
    pub path: String,
    /// blake3 of the component's bytes, hex.
    pub blake3: String,
}

impl PackManifest {
    /// Read and check a manifest file.
    pub fn load(path: &Path) -> Result<Self, LoadError> {
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text).map_err(|reason| LoadError::Manifest {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Parse manifest text; the error gives line, column and field.
    pub fn parse(text: &str) -> Result<Self, String> {
        let m: Self = toml::from_str(text).map_err(|e| one_line_toml_error(text, &e))?;
        if m.schema != MANIFEST_SCHEMA {
            return Err(format!(
                "schema {} is not supported (this host reads schema {MANIFEST_SCHEMA})",
                m.schema
            ));
        }
        Ok(m)
    }

    /// The manifest as TOML text; a manifest TOML cannot express is an
    /// error, never an empty file.
    pub fn to_toml(&self) -> Result<String, String> {
        toml::to_string_pretty(self).map_err(|e| format!("cannot write the pack manifest: {e}"))
    }
}

/// A TOML error in one line: `line L, column C: message`.
pub(crate) fn one_line_toml_error(text: &str, e: &toml::de::Error) -> String {
    let msg = e
        .message()
        .lines()
        .next()
        .unwrap_or("invalid TOML")
        .to_string();
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
            format!("line {line}, column {col}: {msg}")
        }
        None => msg,
    }
}

/// Load a pack from a component file (`.wasm`) or a built manifest
/// (`.toml`, with a `[component]` pin): the component's hash must match the
/// pin, and its name, version and rules must match the manifest. The
/// manifest's `[config]` is served to the pack.
pub fn load_pack(sandbox: &Sandbox, path: &Path) -> Result<Guest, LoadError> {
    if path.extension().and_then(|e| e.to_str()) != Some("toml") {
        return sandbox.load_file(path, Some(Kind::Policy));
    }
    let manifest = PackManifest::load(path)?;
    let bad = |reason: String| LoadError::Manifest {
        path: path.to_path_buf(),
        reason,
    };
    let pin = manifest
        .component
        .as_ref()
        .ok_or_else(|| bad("no `[component]` pin: build it with `gatehouse build`".into()))?;
    let component_path: PathBuf = path.parent().unwrap_or(Path::new(".")).join(&pin.path);
    let bytes = std::fs::read(&component_path).map_err(|source| LoadError::Io {
        path: component_path.clone(),
        source,
    })?;
    let actual = blake3::hash(&bytes).to_hex().to_string();
    if actual != pin.blake3 {
        return Err(bad(format!(
            "component `{}` has blake3 {actual}, the manifest pins {}",
            pin.path, pin.blake3
        )));
    }
    let guest = sandbox
        .load(&bytes, &pin.path, Some(Kind::Policy))?
        .with_config(manifest.config.clone());
    let info = guest
        .pack_info()
        .ok_or_else(|| bad("not a policy pack".into()))?;
    if info.name != manifest.pack.name || info.version != manifest.pack.version {
        return Err(bad(format!(
            "the component describes itself as {}@{}, the manifest says {}@{}",
            info.name, info.version, manifest.pack.name, manifest.pack.version
        )));
    }
    let described: Vec<(&str, Severity)> = info
        .rules
        .iter()
        .map(|r| (r.id.as_str(), r.severity))
        .collect();
    let listed: Vec<(&str, Severity)> = manifest
        .rules
        .iter()
        .map(|r| (r.id.as_str(), r.severity))
        .collect();
    if described != listed {
        return Err(bad(format!(
            "rules differ: the component describes [{}], the manifest lists [{}]",
            described
                .iter()
                .map(|(id, _)| *id)
                .collect::<Vec<_>>()
                .join(", "),
            listed
                .iter()
                .map(|(id, _)| *id)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if let Some((r, m)) = info
        .rules
        .iter()
        .zip(&manifest.rules)
        .find(|(r, m)| r.citation != m.citation)
    {
        return Err(bad(format!(
            "rule `{}`: the component cites {}, the manifest {}",
            r.id,
            r.citation.as_deref().unwrap_or("nothing"),
            m.citation.as_deref().unwrap_or("nothing")
        )));
    }
    Ok(guest)
}
