//! The benchmark's inputs and expected verdicts.

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::path::Path;

/// One action: the flat record of `policy.wit`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub channel: String,
    pub region: String,
    pub audience_size: u32,
    pub subject: String,
    pub body: String,
    pub has_unsubscribe_link: bool,
    pub consent: bool,
    pub evidence: Vec<String>,
}

/// A verdict kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Allow,
    Deny,
    Escalate,
}

/// A verdict and the rule ids behind it, in rule order.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Decision {
    pub verdict: Verdict,
    pub rules: Vec<Cow<'static, str>>,
}

impl Decision {
    pub fn new(verdict: Verdict, rules: Vec<Cow<'static, str>>) -> Self {
        Self { verdict, rules }
    }

    /// From a verdict name, e.g. what a peer engine answered.
    pub fn named(verdict: &str, rules: Vec<Cow<'static, str>>) -> Result<Self> {
        let verdict = match verdict {
            "allow" => Verdict::Allow,
            "deny" => Verdict::Deny,
            "escalate" => Verdict::Escalate,
            other => bail!("unknown verdict `{other}`"),
        };
        Ok(Self { verdict, rules })
    }
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}{:?}", self.verdict, self.rules)
    }
}

/// The banned terms, lowercase, in file order.
pub fn banned_terms(dir: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(dir.join("banned.txt")).context("banned.txt")?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect())
}

/// The actions and the expected decisions, line for line.
pub fn load(dir: &Path) -> Result<(Vec<Record>, Vec<Decision>)> {
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name))
            .with_context(|| format!("`{name}` in {}", dir.display()))
    };
    let records: Vec<Record> = read("actions.jsonl")?
        .lines()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).with_context(|| format!("actions.jsonl line {}", i + 1))
        })
        .collect::<Result<_>>()?;
    let expected: Vec<Decision> = read("expected.jsonl")?
        .lines()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).with_context(|| format!("expected.jsonl line {}", i + 1))
        })
        .collect::<Result<_>>()?;
    if records.len() != expected.len() || records.is_empty() {
        bail!(
            "{} actions but {} expected verdicts",
            records.len(),
            expected.len()
        );
    }
    Ok((records, expected))
}
