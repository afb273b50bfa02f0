//! What a pack answers: verdicts, findings and the spans they point at.

use super::{Action, Severity};
use serde::{Deserialize, Serialize};
use wasmtime::component::{ComponentType, Lift, Lower};

/// Where in an action a finding points.
#[derive(
    ComponentType,
    Lift,
    Lower,
    Serialize,
    Deserialize,
    Clone,
    Debug,
    PartialEq,
    Eq,
    schemars::JsonSchema,
)]
#[component(record)]
#[serde(deny_unknown_fields)]
pub struct Span {
    /// The field.
    pub field: String,
    /// Start byte offset.
    pub start: u32,
    /// End byte offset (exclusive).
    pub end: u32,
    /// The offending text.
    pub excerpt: String,
}

/// One reason behind a verdict.
#[derive(
    ComponentType,
    Lift,
    Lower,
    Serialize,
    Deserialize,
    Clone,
    Debug,
    PartialEq,
    Eq,
    schemars::JsonSchema,
)]
#[component(record)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// The rule that fired.
    pub rule: String,
    /// How serious.
    pub severity: Severity,
    /// A message a marketer understands.
    pub message: String,
    /// Evidence ids relied on.
    #[serde(default)]
    pub evidence: Vec<String>,
    /// Where in the action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Span>,
    /// The law or rule the finding applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citation: Option<String>,
    /// The edit a modification made for this finding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Finding {
    /// A finding with no evidence and no location.
    pub fn new(rule: &str, severity: Severity, message: impl Into<String>) -> Self {
        Self {
            rule: rule.to_string(),
            severity,
            message: message.into(),
            evidence: Vec::new(),
            location: None,
            citation: None,
            fix: None,
        }
    }
}

/// An action changed by a policy.
#[derive(
    ComponentType,
    Lift,
    Lower,
    Serialize,
    Deserialize,
    Clone,
    Debug,
    PartialEq,
    Eq,
    schemars::JsonSchema,
)]
#[component(record)]
#[serde(deny_unknown_fields)]
pub struct Modification {
    /// The changed action.
    pub action: Action,
    /// Why.
    pub findings: Vec<Finding>,
}

/// A policy's judgement of one action.
///
/// JSON: `{"verdict": "allow"}`, `{"verdict": "deny", "findings": [...]}`,
/// `{"verdict": "modify", "findings": [...], "action": {...}}`.
#[derive(
    ComponentType,
    Lift,
    Lower,
    Serialize,
    Deserialize,
    Clone,
    Debug,
    PartialEq,
    Eq,
    schemars::JsonSchema,
)]
#[component(variant)]
#[serde(into = "VerdictJson", try_from = "VerdictJson")]
#[expect(
    clippy::large_enum_variant,
    reason = "mirrors the WIT variant, lifted by value"
)]
pub enum Verdict {
    /// Nothing to object to.
    #[component(name = "allow")]
    Allow,
    /// Must not happen.
    #[component(name = "deny")]
    Deny(Vec<Finding>),
    /// A human must decide.
    #[component(name = "escalate")]
    Escalate(Vec<Finding>),
    /// May happen once changed.
    #[component(name = "modify")]
    Modify(Modification),
}

impl Verdict {
    /// `allow`, `deny`, `escalate` or `modify`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Deny(_) => "deny",
            Self::Escalate(_) => "escalate",
            Self::Modify(_) => "modify",
        }
    }

    /// The findings behind the verdict.
    pub fn findings(&self) -> &[Finding] {
        match self {
            Self::Allow => &[],
            Self::Deny(f) | Self::Escalate(f) => f,
            Self::Modify(m) => &m.findings,
        }
    }
}

#[derive(Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct VerdictJson {
    verdict: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    findings: Vec<Finding>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    action: Option<Box<Action>>,
}

impl From<Verdict> for VerdictJson {
    fn from(v: Verdict) -> Self {
        let verdict = v.name().to_string();
        match v {
            Verdict::Allow => Self {
                verdict,
                findings: Vec::new(),
                action: None,
            },
            Verdict::Deny(findings) | Verdict::Escalate(findings) => Self {
                verdict,
                findings,
                action: None,
            },
            Verdict::Modify(m) => Self {
                verdict,
                findings: m.findings,
                action: Some(Box::new(m.action)),
            },
        }
    }
}

impl TryFrom<VerdictJson> for Verdict {
    type Error = String;
    fn try_from(j: VerdictJson) -> Result<Self, String> {
        match (j.verdict.as_str(), j.action) {
            ("allow", None) => Ok(Self::Allow),
            ("deny", None) => Ok(Self::Deny(j.findings)),
            ("escalate", None) => Ok(Self::Escalate(j.findings)),
            ("modify", Some(action)) => Ok(Self::Modify(Modification {
                action: *action,
                findings: j.findings,
            })),
            ("modify", None) => Err("a `modify` verdict needs an `action`".to_string()),
            (v @ ("allow" | "deny" | "escalate"), Some(_)) => {
                Err(format!("a `{v}` verdict takes no `action`"))
            }
            (other, _) => Err(format!(
                "unknown verdict `{other}` (expected allow, deny, escalate or modify)"
            )),
        }
    }
}
