//! Change proposals: a new skill, pack, prompt or configuration hash,
//! with its predicted impact, risk, rationale and evidence. Risk decides
//! the path: `low` is approved on the spot, `medium` and `high` need one
//! approver, `critical` two (never the proposer). An approved proposal is
//! released exactly once, to the pilot that carries it out.

use super::LearnError;
use super::pilot::Pinned;
use crate::ops::{Approvable, approvals_needed};
use gatehouse_store::{ApprovalId, ApprovalRequest, AuditLog, Entry, NewEntry, Risk};
use serde::{Deserialize, Serialize};

/// Entry kind of proposal events.
pub const PROPOSAL: &str = "proposal";

/// How long a proposal waits for its approvers, in ms.
pub const APPROVAL_TTL_MS: i64 = 14 * 86_400_000;

/// What a proposal changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// A skill component.
    Skill,
    /// A policy pack.
    Pack,
    /// A prompt.
    Prompt,
    /// A configuration.
    Config,
}

/// The impact a proposal predicts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Predicted {
    /// The metric (see [`super::metrics::METRICS`]).
    pub metric: String,
    /// The relative lift expected (0.2 = +20%).
    pub lift: f64,
}

/// A change proposal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Proposal {
    /// Its id: `prop-` and the first 12 hex digits of its content's blake3.
    #[serde(default)]
    pub id: String,
    /// What it changes.
    pub target: Target,
    /// From this exact artifact.
    pub from: Pinned,
    /// To this one.
    pub to: Pinned,
    /// The predicted impact.
    pub predicted: Predicted,
    /// The risk level.
    pub risk: Risk,
    /// Why, in a sentence or two.
    pub rationale: String,
    /// Evidence: run ids, metric figures.
    #[serde(default)]
    pub evidence: Vec<String>,
    /// Who (or which skill) proposed it.
    pub proposed_by: String,
}

/// A proposal event, as its audit entry holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum ProposalEvent {
    /// Proposed; `approval` is the approvals-queue request when approvers
    /// are needed (none for low risk: approved on the spot).
    Proposed {
        /// The proposal.
        proposal: Box<Proposal>,
        /// Its approval request.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        approval: Option<i64>,
        /// Approvers needed (0, 1 or 2).
        approvals_needed: u8,
    },
    /// Released to a pilot (once).
    Released {
        /// The pilot carrying it out.
        pilot: String,
        /// Who released it.
        by: String,
    },
}

/// A proposal's audit entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ProposalEntry {
    /// The proposal's id.
    pub id: String,
    /// When.
    pub at_ms: i64,
    /// What happened.
    #[serde(flatten)]
    pub event: ProposalEvent,
}

fn append(log: &AuditLog, entry: &ProposalEntry) -> Result<(), LearnError> {
    let body = serde_json::to_value(entry).map_err(|e| LearnError::Invalid(e.to_string()))?;
    log.append(&[NewEntry {
        at_ms: entry.at_ms,
        kind: PROPOSAL.to_string(),
        run_id: None,
        body,
    }])?;
    Ok(())
}

/// Record a proposal and route it by risk; returns it with its id and
/// the approval request id when approvers are needed.
pub fn propose(
    log: &AuditLog,
    mut proposal: Proposal,
    at_ms: i64,
) -> Result<(Proposal, Option<ApprovalId>), LearnError> {
    if proposal.from == proposal.to {
        return Err(LearnError::Invalid(
            "the proposal changes nothing: `from` and `to` are the same artifact".into(),
        ));
    }
    if proposal.rationale.trim().is_empty() {
        return Err(LearnError::Invalid("a proposal needs a rationale".into()));
    }
    proposal.id = String::new();
    let content = serde_json::to_vec(&proposal).map_err(|e| LearnError::Invalid(e.to_string()))?;
    let mut hasher = blake3::Hasher::new();
    hasher.update(&content);
    hasher.update(&at_ms.to_le_bytes());
    proposal.id = format!("prop-{}", &hasher.finalize().to_hex()[..12]);
    let needed = approvals_needed(Approvable::Proposal, proposal.risk);
    let approval = if needed == 0 {
        None
    } else {
        let subject = serde_json::json!({"proposal": proposal.id, "change": proposal});
        let request = log.store().request_approval(&ApprovalRequest {
            subject: &subject,
            risk: proposal.risk,
            requested_by: &proposal.proposed_by,
            expires_at_ms: at_ms + APPROVAL_TTL_MS,
            approvals_needed: needed,
            at_ms,
        })?;
        Some(request.id)
    };
    append(
        log,
        &ProposalEntry {
            id: proposal.id.clone(),
            at_ms,
            event: ProposalEvent::Proposed {
                proposal: Box::new(proposal.clone()),
                approval: approval.map(|a| a.0),
                approvals_needed: needed,
            },
        },
    )?;
    Ok((proposal, approval))
}

/// Every proposal in the log, with its entries.
pub fn proposals(entries: &[Entry]) -> Result<Vec<(Proposal, Vec<ProposalEntry>)>, LearnError> {
    let mut out: Vec<(Proposal, Vec<ProposalEntry>)> = Vec::new();
    for e in entries.iter().filter(|e| e.kind == PROPOSAL) {
        let entry: ProposalEntry =
            serde_json::from_value(e.body.clone()).map_err(|err| LearnError::BadEntry {
                seq: e.seq,
                reason: err.to_string(),
            })?;
        match &entry.event {
            ProposalEvent::Proposed { proposal, .. } => {
                out.push(((**proposal).clone(), vec![entry]))
            }
            ProposalEvent::Released { .. } => {
                match out.iter_mut().find(|(p, _)| p.id == entry.id) {
                    Some((_, events)) => events.push(entry),
                    None => {
                        return Err(LearnError::BadEntry {
                            seq: e.seq,
                            reason: format!("release of unknown proposal `{}`", entry.id),
                        });
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Release an approved proposal to `pilot`, exactly once: a low-risk
/// proposal at once, any other once its approvers approved it in the
/// approvals queue. Returns the proposal.
pub fn release(
    log: &AuditLog,
    id: &str,
    pilot: &str,
    by: &str,
    at_ms: i64,
) -> Result<Proposal, LearnError> {
    let all = proposals(&log.entries(0, None)?)?;
    let (proposal, events) = all
        .into_iter()
        .find(|(p, _)| p.id == id)
        .ok_or_else(|| LearnError::NoSuchProposal(id.to_string()))?;
    if let Some(ProposalEvent::Released { pilot, .. }) = events
        .iter()
        .map(|e| &e.event)
        .find(|e| matches!(e, ProposalEvent::Released { .. }))
    {
        return Err(LearnError::Invalid(format!(
            "proposal `{id}` was released already, to pilot `{pilot}`"
        )));
    }
    if let Some(ProposalEvent::Proposed {
        approval: Some(approval),
        ..
    }) = events.first().map(|e| &e.event)
    {
        log.store()
            .release_approval(ApprovalId(*approval), by, at_ms)?;
    }
    append(
        log,
        &ProposalEntry {
            id: id.to_string(),
            at_ms,
            event: ProposalEvent::Released {
                pilot: pilot.to_string(),
                by: by.to_string(),
            },
        },
    )?;
    Ok(proposal)
}

/// The action kind a reflect skill proposes a change with.
pub const PROPOSAL_KIND: &str = "change-proposal";

/// What a `change-proposal` action's payload holds.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Payload {
    target: Target,
    artifact: String,
    set: std::collections::BTreeMap<String, String>,
    predicted: Predicted,
    risk: Risk,
    rationale: String,
    #[serde(default)]
    evidence: Vec<String>,
}

/// Turn an allowed `change-proposal` action (from a reflect skill) into a
/// recorded proposal: the configuration `artifact@channel` in `scope`,
/// with the payload's settings applied, content-addressed — an existing
/// version with exactly those bytes is reused, otherwise the next minor
/// version is published — then proposed from the current version to it.
pub fn from_action(
    log: &AuditLog,
    action: &crate::Action,
    channel: &str,
    scope: &gatehouse_store::Scope,
    at_ms: i64,
) -> Result<(Proposal, Option<ApprovalId>), LearnError> {
    let crate::ActionKind::Generic(g) = &action.kind else {
        return Err(LearnError::Invalid(format!(
            "action `{}` is not a {PROPOSAL_KIND}",
            action.id
        )));
    };
    if g.kind != PROPOSAL_KIND {
        return Err(LearnError::Invalid(format!(
            "action `{}` is a `{}`, not a {PROPOSAL_KIND}",
            action.id, g.kind
        )));
    }
    let p: Payload = serde_json::from_str(&g.payload_json).map_err(|e| {
        LearnError::Invalid(format!("action `{}`: proposal payload: {e}", action.id))
    })?;
    if p.target != Target::Config {
        return Err(LearnError::Invalid(format!(
            "action `{}`: a skill may propose configuration changes only",
            action.id
        )));
    }
    let store = log.store();
    let from = Pinned::resolve(store, &format!("{}@{channel}", p.artifact), scope)?;
    let hash: gatehouse_store::Hash = from
        .hash
        .parse()
        .map_err(|e: gatehouse_store::ParseHashError| LearnError::Invalid(e.to_string()))?;
    let bytes = store
        .get(&hash)
        .map_err(|e| LearnError::Invalid(format!("{}: {e}", p.artifact)))?;
    let mut config = super::pilot::parse_config(&bytes, &p.artifact)?;
    config.extend(p.set);
    let text = toml::to_string(&config).map_err(|e| LearnError::Invalid(e.to_string()))?;
    let new_hash = gatehouse_store::Hash::of(text.as_bytes()).to_string();
    let existing = store
        .list(
            Some(gatehouse_store::ArtifactKind::Config),
            Some(&p.artifact),
        )
        .map_err(|e| LearnError::Invalid(e.to_string()))?;
    let to = match existing.iter().find(|a| a.id.hash.to_string() == new_hash) {
        Some(a) => Pinned {
            name: a.id.name.clone(),
            version: a.id.version.to_string(),
            hash: new_hash,
        },
        None => {
            let mut next = existing
                .last()
                .map(|a| a.id.version.clone())
                .unwrap_or_else(|| semver::Version::new(0, 0, 0));
            next = semver::Version::new(next.major, next.minor + 1, 0);
            let version = next.to_string();
            store
                .publish(&gatehouse_store::Publish {
                    kind: gatehouse_store::ArtifactKind::Config,
                    name: &p.artifact,
                    version: &version,
                    bytes: text.as_bytes(),
                    publisher: &action.agent,
                    at_ms,
                })
                .map_err(|e| LearnError::Invalid(e.to_string()))?;
            Pinned {
                name: p.artifact.clone(),
                version,
                hash: new_hash,
            }
        }
    };
    let mut evidence = p.evidence;
    evidence.push(format!("action {}", action.id));
    propose(
        log,
        Proposal {
            id: String::new(),
            target: p.target,
            from,
            to,
            predicted: p.predicted,
            risk: p.risk,
            rationale: p.rationale,
            evidence,
            proposed_by: action.agent.clone(),
        },
        at_ms,
    )
}
