//! The data that crosses the sandbox boundary, as Rust types.
//!
//! Each type mirrors one type of the WIT package `gatehouse:agent` (see
//! `wit/agent.wit`) and is lifted from / lowered into guests directly, so the
//! same definitions serve the component ABI and the JSON formats of the CLI
//! (actions, contexts, verdicts). JSON uses the WIT names in kebab-case;
//! variants are tagged with `type` (actions) or `verdict` (verdicts).

use serde::{Deserialize, Serialize};
use wasmtime::component::{ComponentType, Lift, Lower};

mod message;
mod verdict;

pub use message::{
    Channel, Consent, ConsentKind, Criterion, Email, LocalTime, Purpose, Recipient, Relationship,
    Sender, Sms, Subject,
};
pub use verdict::{Finding, Modification, Span, Verdict};

/// Milliseconds since the Unix epoch (UTC).
pub type Timestamp = i64;

/// How serious a finding or a rule is.
#[derive(
    ComponentType,
    Lift,
    Lower,
    Serialize,
    Deserialize,
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    schemars::JsonSchema,
)]
#[component(enum)]
#[repr(u8)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Worth knowing; never blocks on its own.
    #[component(name = "info")]
    Info,
    /// Minor: style or hygiene.
    #[component(name = "low")]
    Low,
    /// Should be fixed before sending.
    #[component(name = "medium")]
    Medium,
    /// Blocks the action.
    #[component(name = "high")]
    High,
    /// Blocks the action and may be a legal exposure.
    #[component(name = "critical")]
    Critical,
}

/// A named string value: a CRM field, a query filter or a run parameter.
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
pub struct Field {
    /// Field name.
    pub name: String,
    /// Field value.
    pub value: String,
}

/// One record of a system of record, as retrieved for a run.
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
pub struct Evidence {
    /// Stable id, cited by actions and findings.
    pub id: String,
    /// The collection it came from.
    pub collection: String,
    /// The data partition (region) it lives in.
    pub partition: String,
    /// Its fields.
    pub fields: Vec<Field>,
}

impl Evidence {
    /// A field's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.value.as_str())
    }
}

/// A retrieval request.
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
pub struct Query {
    /// The collection to search.
    pub collection: String,
    /// Equality filters, all of which must match.
    pub filter: Vec<Field>,
    /// The most records to return.
    pub limit: u32,
}

/// Why a host import could not answer.
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
#[serde(rename_all = "kebab-case", tag = "error", content = "detail")]
pub enum HostError {
    /// The collection does not exist.
    #[component(name = "unknown-collection")]
    UnknownCollection(String),
    /// The request was malformed.
    #[component(name = "invalid-request")]
    InvalidRequest(String),
    /// The request was refused.
    #[component(name = "denied")]
    Denied(String),
}

/// A change to an ad campaign's daily budget.
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
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AdBudgetChange {
    /// The ad platform.
    pub platform: String,
    /// Campaign id.
    #[component(name = "campaign-id")]
    pub campaign_id: String,
    /// Currency (ISO 4217).
    pub currency: String,
    /// Current daily budget in micros.
    #[component(name = "current-daily-micros")]
    pub current_daily_micros: i64,
    /// Proposed daily budget in micros.
    #[component(name = "proposed-daily-micros")]
    pub proposed_daily_micros: i64,
    /// Ad copy shown with the change.
    #[component(name = "ad-copy")]
    #[serde(default)]
    pub ad_copy: Option<String>,
}

/// What an audience update does.
#[derive(
    ComponentType,
    Lift,
    Lower,
    Serialize,
    Deserialize,
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    schemars::JsonSchema,
)]
#[component(enum)]
#[repr(u8)]
#[serde(rename_all = "kebab-case")]
pub enum AudienceOperation {
    /// Add the contacts.
    #[component(name = "add")]
    Add,
    /// Remove the contacts.
    #[component(name = "remove")]
    Remove,
    /// Replace the audience.
    #[component(name = "replace")]
    Replace,
    /// Export the contacts to the platform.
    #[component(name = "export")]
    Export,
}

/// A change to an audience on a platform.
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
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AudienceUpdate {
    /// The platform.
    pub platform: String,
    /// The platform's data region.
    #[component(name = "platform-region")]
    pub platform_region: String,
    /// Audience id.
    #[component(name = "audience-id")]
    pub audience_id: String,
    /// What to do.
    pub operation: AudienceOperation,
    /// Contacts concerned.
    #[component(name = "contact-ids")]
    #[serde(default)]
    pub contact_ids: Vec<String>,
    /// Contact fields sent to the platform.
    #[serde(default)]
    pub fields: Vec<String>,
    /// The criteria that picked the contacts.
    #[serde(default)]
    pub targeting: Vec<Criterion>,
}

/// Any other action.
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
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct GenericAction {
    /// Action kind name.
    pub kind: String,
    /// Parameters as a JSON document.
    #[component(name = "payload-json")]
    pub payload_json: String,
}

/// The action itself, by kind.
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
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum ActionKind {
    /// Send an email.
    #[component(name = "email")]
    Email(Email),
    /// Send a text message.
    #[component(name = "sms")]
    Sms(Sms),
    /// Change an ad budget.
    #[component(name = "ad-budget")]
    AdBudget(AdBudgetChange),
    /// Update an audience.
    #[component(name = "audience")]
    Audience(AudienceUpdate),
    /// Anything else.
    #[component(name = "generic")]
    Generic(GenericAction),
}

impl ActionKind {
    /// The kind's name as in WIT and JSON (`email`, `sms`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Email(_) => "email",
            Self::Sms(_) => "sms",
            Self::AdBudget(_) => "ad-budget",
            Self::Audience(_) => "audience",
            Self::Generic(_) => "generic",
        }
    }
}

/// An amount of money.
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
pub struct Money {
    /// Currency (ISO 4217).
    pub currency: String,
    /// Millionths of the currency unit.
    pub micros: i64,
}

impl Default for Money {
    fn default() -> Self {
        Self {
            currency: "USD".to_string(),
            micros: 0,
        }
    }
}

/// An action a skill proposes.
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
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Action {
    /// Unique within the run.
    pub id: String,
    /// The agent proposing it.
    #[serde(default)]
    pub agent: String,
    /// The data region it touches.
    #[serde(default)]
    pub region: String,
    /// Expected cost.
    #[component(name = "estimated-cost")]
    #[serde(default)]
    pub estimated_cost: Money,
    /// Evidence ids it relies on.
    #[serde(default)]
    pub evidence: Vec<String>,
    /// Why, in one sentence.
    #[serde(default)]
    pub rationale: String,
    /// The action.
    pub kind: ActionKind,
}

impl Action {
    /// The recipient, for actions sent to one person.
    pub fn recipient(&self) -> Option<&Recipient> {
        match &self.kind {
            ActionKind::Email(e) => Some(&e.to),
            ActionKind::Sms(s) => Some(&s.to),
            _ => None,
        }
    }

    /// When a message is to be sent (its `send-at`, else `now`); `None`
    /// for actions that are not messages.
    pub fn send_time(&self, now: Timestamp) -> Option<Timestamp> {
        match &self.kind {
            ActionKind::Email(e) => Some(e.send_at.unwrap_or(now)),
            ActionKind::Sms(s) => Some(s.send_at.unwrap_or(now)),
            _ => None,
        }
    }

    /// The message's channel; `None` for actions that are not messages.
    pub fn channel(&self) -> Option<Channel> {
        match &self.kind {
            ActionKind::Email(_) => Some(Channel::Email),
            ActionKind::Sms(_) => Some(Channel::Sms),
            _ => None,
        }
    }

    /// The message's sender; `None` for actions that are not messages.
    pub fn sender(&self) -> Option<&Sender> {
        match &self.kind {
            ActionKind::Email(e) => Some(&e.sender),
            ActionKind::Sms(s) => Some(&s.sender),
            _ => None,
        }
    }

    /// The message's sender, mutably.
    pub fn sender_mut(&mut self) -> Option<&mut Sender> {
        match &mut self.kind {
            ActionKind::Email(e) => Some(&mut e.sender),
            ActionKind::Sms(s) => Some(&mut s.sender),
            _ => None,
        }
    }

    /// The recipient, mutably.
    pub fn recipient_mut(&mut self) -> Option<&mut Recipient> {
        match &mut self.kind {
            ActionKind::Email(e) => Some(&mut e.to),
            ActionKind::Sms(s) => Some(&mut s.to),
            _ => None,
        }
    }
}

/// What a run is about.
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
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RunContext {
    /// Unique run id.
    #[component(name = "run-id")]
    pub run_id: String,
    /// The agent running.
    pub agent: String,
    /// The data partition the run is confined to.
    pub partition: String,
    /// Cohort or segment.
    #[serde(default)]
    pub cohort: Option<String>,
    /// Campaign.
    #[serde(default)]
    pub campaign: Option<String>,
    /// The run's clock.
    pub now: Timestamp,
    /// Parameters for the skill.
    #[serde(default)]
    pub params: Vec<Field>,
}

/// One rule of a pack.
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
pub struct RuleInfo {
    /// Rule id.
    pub id: String,
    /// Severity of its findings.
    pub severity: Severity,
    /// What it checks.
    pub description: String,
    /// The law or rule it applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citation: Option<String>,
}

/// What a policy pack says about itself.
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
pub struct PackInfo {
    /// Pack name.
    pub name: String,
    /// Pack version.
    pub version: String,
    /// Its rules.
    pub rules: Vec<RuleInfo>,
    /// SDK it was built with.
    pub sdk: Option<String>,
}

/// What a skill says about itself.
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
pub struct SkillInfo {
    /// Skill name.
    pub name: String,
    /// Skill version.
    pub version: String,
    /// SDK it was built with.
    pub sdk: Option<String>,
}

/// Why a skill proposed nothing.
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
#[serde(rename_all = "kebab-case", tag = "error", content = "detail")]
pub enum SkillError {
    /// The context lacks something.
    #[component(name = "invalid-context")]
    InvalidContext(String),
    /// A host import failed.
    #[component(name = "host")]
    Host(HostError),
    /// Anything else.
    #[component(name = "failed")]
    Failed(String),
}

/// Log levels.
#[derive(
    ComponentType,
    Lift,
    Lower,
    Serialize,
    Deserialize,
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    schemars::JsonSchema,
)]
#[component(enum)]
#[repr(u8)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    /// Detail.
    #[component(name = "debug")]
    Debug,
    /// Progress.
    #[component(name = "info")]
    Info,
    /// Unexpected but handled.
    #[component(name = "warn")]
    Warn,
    /// Failed.
    #[component(name = "error")]
    Error,
}
