//! Sender profiles: who a message comes from, as the host's configuration
//! says, bound to the agents that may send for it.
//!
//! A skill cannot say who it is: before any pack sees an email or a text,
//! the host overwrites its `sender` with the profile bound to the action's
//! agent, and packs append the profile's postal address, unsubscribe
//! mechanism and identification from it. A file (`senders.toml`):
//!
//! ```toml
//! [profile.acme]
//! agents = ["outreach-eu", "outreach-us"]
//! brand = "Acme"
//! legal-name = "Acme Inc."
//! from-name = "Acme Marketing"
//! from-address = "news@acme.example"
//! sms-sender-id = "ACME"
//! postal-address = "Acme Inc., 100 Main St, Springfield, IL 62701, USA"
//! contact = "https://acme.example/contact"
//! unsubscribe = "https://acme.example/unsubscribe"
//! sms-opt-out = "Reply STOP to opt out."
//! disclosures = ["Advertisement"]
//! regimes = []
//! ```
//!
//! `brand`, `legal-name`, `from-name`, `from-address`, `sms-sender-id` and
//! `agents` are required; an agent bound to two profiles is an error.

use gatehouse_sandbox::Sender;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// A sender profile file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SendersError {
    /// The file could not be read.
    #[error("cannot read sender profiles `{path}`: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is malformed; the text says what and where.
    #[error("sender profiles `{path}`: {reason}")]
    Malformed {
        /// The file.
        path: String,
        /// What and where.
        reason: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    profile: BTreeMap<String, Profile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Profile {
    agents: Vec<String>,
    brand: String,
    legal_name: String,
    from_name: String,
    from_address: String,
    sms_sender_id: String,
    #[serde(default)]
    postal_address: Option<String>,
    #[serde(default)]
    contact: Option<String>,
    #[serde(default)]
    unsubscribe: Option<String>,
    #[serde(default)]
    sms_opt_out: Option<String>,
    #[serde(default)]
    disclosures: Vec<String>,
    #[serde(default)]
    regimes: Vec<String>,
}

/// The sender profiles, by the agent each is bound to.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Senders {
    by_agent: BTreeMap<String, Sender>,
}

impl Senders {
    /// No profiles: every message is blocked for want of a sender.
    pub fn none() -> Self {
        Self::default()
    }

    /// Load a profile file.
    pub fn load(path: &Path) -> Result<Self, SendersError> {
        let text = std::fs::read_to_string(path).map_err(|source| SendersError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text).map_err(|reason| SendersError::Malformed {
            path: path.display().to_string(),
            reason,
        })
    }

    /// Parse profiles from TOML text; the error says what and where.
    pub fn parse(text: &str) -> Result<Self, String> {
        let file: File = toml::from_str(text).map_err(|e| one_line(&e.to_string()))?;
        let mut by_agent = BTreeMap::new();
        for (id, p) in file.profile {
            for (field, value) in [
                ("brand", &p.brand),
                ("legal-name", &p.legal_name),
                ("from-name", &p.from_name),
                ("from-address", &p.from_address),
                ("sms-sender-id", &p.sms_sender_id),
            ] {
                if value.trim().is_empty() {
                    return Err(format!("profile `{id}`: `{field}` is empty"));
                }
            }
            if p.agents.is_empty() {
                return Err(format!("profile `{id}`: `agents` binds no agent"));
            }
            let sender = Sender {
                profile: id.clone(),
                brand: p.brand,
                legal_name: p.legal_name,
                from_name: p.from_name,
                from_address: p.from_address,
                sms_sender_id: p.sms_sender_id,
                postal_address: p.postal_address,
                contact: p.contact,
                unsubscribe: p.unsubscribe,
                sms_opt_out: p.sms_opt_out,
                disclosures: p.disclosures,
                regimes: p.regimes,
            };
            for agent in p.agents {
                if let Some(other) = by_agent.insert(agent.clone(), sender.clone()) {
                    return Err(format!(
                        "agent `{agent}` is bound to two profiles, `{}` and `{id}`",
                        other.profile
                    ));
                }
            }
        }
        Ok(Self { by_agent })
    }

    /// The profile bound to `agent`.
    pub fn for_agent(&self, agent: &str) -> Option<&Sender> {
        self.by_agent.get(agent)
    }
}

/// TOML errors span several lines (with a caret); keep the first line
/// with its position and the message.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('|') && !l.chars().all(|c| c == '^'))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One profile, `acme`, bound to agent `outreach-eu` (for tests).
#[cfg(test)]
pub(crate) const TEST_PROFILE: &str = r#"
[profile.acme]
agents = ["outreach-eu"]
brand = "Acme"
legal-name = "Acme Inc."
from-name = "Acme Marketing"
from-address = "news@acme.example"
sms-sender-id = "ACME"
postal-address = "Acme Inc., 100 Main St, Springfield"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    const ACME: &str = TEST_PROFILE;

    #[test]
    fn binds_agents_to_profiles() {
        let s = Senders::parse(ACME).unwrap();
        let p = s.for_agent("outreach-eu").unwrap();
        assert_eq!((p.profile.as_str(), p.brand.as_str()), ("acme", "Acme"));
        assert!(s.for_agent("someone-else").is_none());
    }

    #[test]
    fn missing_or_doubled_facts_are_named() {
        let err = Senders::parse(&ACME.replace("legal-name = \"Acme Inc.\"\n", "")).unwrap_err();
        assert!(err.contains("legal-name"), "{err}");
        assert!(!err.contains('\n'));
        let twice = format!("{ACME}\n{}", ACME.replace("profile.acme", "profile.other"));
        let err = Senders::parse(&twice).unwrap_err();
        assert!(
            err.contains("outreach-eu") && err.contains("two profiles"),
            "{err}"
        );
    }
}
