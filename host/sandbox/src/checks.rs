//! Load-time checks of a component against the contract: the header, the
//! world it exports, the interfaces and versions it imports.

use crate::error::LoadError;
use crate::guest::Kind;
use crate::sandbox::WIT_VERSION;
use wasmtime::Engine;
use wasmtime::component::Component;
use wasmtime::component::types::ComponentItem;

pub(crate) fn check_header(bytes: &[u8], name: &str) -> Result<(), LoadError> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        let reason = if bytes.is_empty() {
            "the file is empty".to_string()
        } else if bytes.len() < 8 && b"\0asm".starts_with(&bytes[..bytes.len().min(4)]) {
            format!("truncated after {} bytes", bytes.len())
        } else {
            "no wasm magic number at offset 0".to_string()
        };
        return Err(LoadError::NotWasm {
            name: name.to_string(),
            reason,
        });
    }
    match &bytes[4..8] {
        [0x01, 0x00, 0x00, 0x00] => Err(LoadError::CoreModule {
            name: name.to_string(),
        }),
        [_, _, 0x01, 0x00] => Ok(()),
        other => Err(LoadError::NotWasm {
            name: name.to_string(),
            reason: format!("unknown wasm version/layer {other:02x?}"),
        }),
    }
}

/// Which world a compiled component implements; its imports are checked.
pub(crate) fn classify(
    engine: &Engine,
    component: &Component,
    name: &str,
) -> Result<(Kind, String, Vec<String>), LoadError> {
    let ty = component.component_type();
    let mut imports = Vec::new();
    for (import, item) in ty.imports(engine) {
        imports.push(import.to_string());
        if !matches!(item.ty, ComponentItem::ComponentInstance(_)) {
            return Err(LoadError::UnsupportedImport {
                name: name.to_string(),
                import: import.to_string(),
            });
        }
        match split_versioned(import) {
            Some(("gatehouse:agent/host" | "gatehouse:agent/types", version)) => {
                check_version(name, import, version)?
            }
            Some((interface, Some(version))) if version.starts_with("0.2.") => {
                check_wasi(engine, name, import, interface, &item.ty)?
            }
            _ => {
                return Err(LoadError::UnsupportedImport {
                    name: name.to_string(),
                    import: import.to_string(),
                });
            }
        }
    }
    let mut found = None;
    let mut exports = Vec::new();
    for (export, _) in ty.exports(engine) {
        exports.push(export.to_string());
        let kind = match split_versioned(export) {
            Some(("gatehouse:agent/skill", v)) => Some((Kind::Skill, v)),
            Some(("gatehouse:agent/policy", v)) => Some((Kind::Policy, v)),
            _ => None,
        };
        if let Some((kind, version)) = kind {
            check_version(name, export, version)?;
            if found.is_some() {
                return Err(LoadError::Contract {
                    name: name.to_string(),
                    reason: "exports both a skill and a policy".to_string(),
                });
            }
            found = Some((kind, export.to_string()));
        }
    }
    match found {
        Some((kind, export)) => Ok((kind, export, imports)),
        None => Err(LoadError::NoGatehouseExport {
            name: name.to_string(),
            exports: if exports.is_empty() {
                "none".to_string()
            } else {
                exports.join(", ")
            },
        }),
    }
}

/// A WASI 0.2 import is admitted when gatehouse's virtual WASI serves the
/// interface and every function the component takes from it.
pub(crate) fn check_wasi(
    engine: &Engine,
    name: &str,
    import: &str,
    interface: &str,
    item: &ComponentItem,
) -> Result<(), LoadError> {
    let unsupported = |what: String| LoadError::UnsupportedImport {
        name: name.to_string(),
        import: what,
    };
    let served = crate::wasi::served(interface).ok_or_else(|| unsupported(import.to_string()))?;
    if let ComponentItem::ComponentInstance(instance) = item {
        for (func, ty) in instance.exports(engine) {
            if matches!(ty.ty, ComponentItem::ComponentFunc(_)) && !served.contains(&func) {
                return Err(unsupported(format!("{import}#{func}")));
            }
        }
    }
    Ok(())
}

pub(crate) fn split_versioned(name: &str) -> Option<(&str, Option<&str>)> {
    match name.split_once('@') {
        Some((base, version)) => Some((base, Some(version))),
        None => Some((name, None)),
    }
}

/// Semver compatibility with [`WIT_VERSION`]: same major, and for 0.x the
/// same minor.
pub(crate) fn check_version(
    name: &str,
    interface: &str,
    version: Option<&str>,
) -> Result<(), LoadError> {
    let incompatible = || LoadError::IncompatibleVersion {
        name: name.to_string(),
        interface: interface.to_string(),
        supported: WIT_VERSION.to_string(),
    };
    let version = version.ok_or_else(incompatible)?;
    let parse = |v: &str| -> Option<(u64, u64)> {
        let mut parts = v.split(['.', '-', '+']);
        Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
    };
    let (ours, theirs) = (parse(WIT_VERSION), parse(version));
    match (ours, theirs) {
        (Some((0, a)), Some((0, b))) if a == b => Ok(()),
        (Some((m, _)), Some((n, _))) if m == n && m > 0 => Ok(()),
        _ => Err(incompatible()),
    }
}
