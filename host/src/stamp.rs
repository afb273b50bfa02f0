//! Recipient facts and sender profiles, stamped by the host.
//!
//! Policies need facts about the recipient (country, consent, relationship,
//! time zone, first contact) and the sender (legal name, postal address,
//! unsubscribe mechanism). A skill cannot be trusted to state them, so
//! before any pack sees an email or a text the host overwrites its
//! `recipient` from the system of record and its `sender` from the profile
//! bound to the action's agent. A fact the host cannot establish blocks the
//! action with a finding that names it: nothing is guessed (no time zone,
//! no consent status, no country).
//!
//! The system of record's `contacts` fields (text values):
//!
//! | field | fact |
//! |---|---|
//! | `email` / `phone` | `to.address` for email / SMS (required for its channel) |
//! | partition | `to.region` |
//! | `country` | `to.country`, ISO 3166-1 alpha-2 (required) |
//! | `time_zone` | `to.time-zone`, an IANA zone (required) |
//! | `consent_<channel>` | `to.consent.kind`: `express-written`, `express`, `implied`, `soft-opt-in`, `none` or `withdrawn` (required) |
//! | `consent_<channel>_purposes` | `to.consent.purposes`, comma-separated `commercial`, `transactional`, `relationship` (required unless the kind is `none` or `withdrawn`) |
//! | `consent_<channel>_obtained_at`, `_expires_at`, `_withdrawn_at` | RFC 3339 instants |
//! | `consent_<channel>_evidence` | `to.consent.evidence` |
//! | `lawful_basis` | `to.lawful-basis` |
//! | `last_purchase_at`, `last_inquiry_at` | `to.relationship`, RFC 3339 instants |
//!
//! `to.first-contact` is true when no `history` record has this
//! `contact_id` and `channel`.

use crate::evidence::Dataset;
use crate::model::{
    Action, Channel, Consent, ConsentKind, Evidence, Finding, Purpose, Relationship, Severity,
};
use crate::senders::Senders;

/// The rule of a finding for a recipient the system of record lacks.
pub const UNKNOWN_RECIPIENT: &str = "gatehouse.unknown-recipient";
/// The rule of a finding for a fact the host cannot establish.
pub const MISSING_FACT: &str = "gatehouse.missing-fact";
/// The rule of a finding for an agent bound to no sender profile.
pub const UNKNOWN_SENDER: &str = "gatehouse.unknown-sender";

/// Why the host could not stamp an action; the action is blocked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StampError {
    /// The action names a contact the system of record does not know.
    #[error("recipient `{contact_id}` is not in the system of record")]
    UnknownRecipient {
        /// The contact id the action named.
        contact_id: String,
    },
    /// A fact is missing or malformed.
    #[error("{subject}: `{field}` {problem}")]
    MissingFact {
        /// Whose fact: `contact c-1`, or `action a-1`.
        subject: String,
        /// The field, as the source spells it.
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// No sender profile is bound to the action's agent.
    #[error("agent `{agent}` is bound to no sender profile, so the message has no sender")]
    UnknownSender {
        /// The agent.
        agent: String,
    },
    /// Replay: the recorded run blocked the action so.
    #[error("{}", .0.message)]
    Recorded(Finding),
}

impl StampError {
    /// The finding that blocks the action.
    pub fn finding(&self) -> Finding {
        let rule = match self {
            Self::UnknownRecipient { .. } => UNKNOWN_RECIPIENT,
            Self::MissingFact { .. } => MISSING_FACT,
            Self::UnknownSender { .. } => UNKNOWN_SENDER,
            Self::Recorded(f) => return f.clone(),
        };
        Finding::new(rule, Severity::Critical, self.to_string())
    }

    /// True when a recorded finding came from stamping.
    pub fn is_stamp_rule(rule: &str) -> bool {
        [UNKNOWN_RECIPIENT, MISSING_FACT, UNKNOWN_SENDER].contains(&rule)
    }
}

/// Overwrite an action's recipient facts from the system of record and
/// its sender from the agent's profile, so packs can trust both whatever
/// the skill wrote. Other action kinds are left alone.
pub fn stamp(action: &mut Action, dataset: &Dataset, senders: &Senders) -> Result<(), StampError> {
    let Some(channel) = action.channel() else {
        return Ok(());
    };
    let agent = action.agent.clone();
    let profile = senders
        .for_agent(&agent)
        .ok_or(StampError::UnknownSender { agent })?
        .clone();
    if let Some(sender) = action.sender_mut() {
        *sender = profile;
    }
    let Some(r) = action.recipient_mut() else {
        return Ok(());
    };
    let Some(contact) = dataset.get("contacts", &r.contact_id) else {
        return Err(StampError::UnknownRecipient {
            contact_id: r.contact_id.clone(),
        });
    };
    let facts = Facts { contact };
    let ch = channel.name();
    r.address = facts.required(if channel == Channel::Email {
        "email"
    } else {
        "phone"
    })?;
    r.region = contact.partition.clone();
    r.country = facts.required("country")?;
    r.time_zone = facts.required("time_zone")?;
    if !gatehouse_zone::is_known(&r.time_zone) {
        return Err(facts.bad(
            "time_zone",
            "is not an IANA time zone (e.g. `Europe/Berlin`)",
        ));
    }
    r.consent = facts.consent(channel)?;
    r.lawful_basis = facts.optional("lawful_basis");
    r.relationship = Relationship {
        last_purchase_at: facts.instant("last_purchase_at")?,
        last_inquiry_at: facts.instant("last_inquiry_at")?,
    };
    let id = r.contact_id.clone();
    r.first_contact = !dataset
        .find("history", "contact_id", &id)
        .any(|h| h.get("channel") == Some(ch));
    Ok(())
}

/// Offline checking (`validate` without a system of record) takes the
/// facts as given, but not a message without the facts packs judge by.
pub fn check_given(action: &Action) -> Result<(), StampError> {
    let Some(to) = action.recipient() else {
        return Ok(());
    };
    let missing = |field: &str, problem: &str| StampError::MissingFact {
        subject: format!("action `{}`", action.id),
        field: field.to_string(),
        problem: problem.to_string(),
    };
    if to.country.trim().is_empty() {
        return Err(missing("to.country", "is missing"));
    }
    if !gatehouse_zone::is_known(&to.time_zone) {
        return Err(missing(
            "to.time-zone",
            "is missing or not an IANA time zone (e.g. `America/New_York`)",
        ));
    }
    if action.sender().is_none_or(|s| s.profile.trim().is_empty()) {
        return Err(missing("sender.profile", "is missing"));
    }
    Ok(())
}

/// One contact record's fields, read with errors that name them.
struct Facts<'a> {
    contact: &'a Evidence,
}

impl Facts<'_> {
    fn bad(&self, field: &str, problem: &str) -> StampError {
        StampError::MissingFact {
            subject: format!("contact `{}`", self.contact.id),
            field: field.to_string(),
            problem: problem.to_string(),
        }
    }

    fn optional(&self, field: &str) -> Option<String> {
        self.contact
            .get(field)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }

    fn required(&self, field: &str) -> Result<String, StampError> {
        self.optional(field)
            .ok_or_else(|| self.bad(field, "is missing from the system of record"))
    }

    fn instant(&self, field: &str) -> Result<Option<i64>, StampError> {
        self.optional(field)
            .map(|v| {
                gatehouse_zone::parse_instant(&v)
                    .map_err(|_| self.bad(field, &format!("`{v}` is not an RFC 3339 instant")))
            })
            .transpose()
    }

    fn consent(&self, channel: Channel) -> Result<Consent, StampError> {
        let ch = channel.name();
        let field = format!("consent_{ch}");
        let raw = self.required(&field)?;
        let kind = ConsentKind::parse(&raw).ok_or_else(|| {
            self.bad(
                &field,
                &format!("is `{raw}`, not one of {}", ConsentKind::NAMES.join(", ")),
            )
        })?;
        let purposes_field = format!("consent_{ch}_purposes");
        let purposes = match (self.optional(&purposes_field), kind) {
            (None, ConsentKind::None | ConsentKind::Withdrawn) => Vec::new(),
            (None, _) => {
                return Err(self.bad(
                    &purposes_field,
                    "is missing: consent must say which purposes it covers",
                ));
            }
            (Some(list), _) => list
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| {
                    Purpose::parse(p).ok_or_else(|| {
                        self.bad(
                            &purposes_field,
                            &format!("names `{p}`, not one of {}", Purpose::NAMES.join(", ")),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        Ok(Consent {
            kind,
            channel,
            purposes,
            obtained_at: self.instant(&format!("consent_{ch}_obtained_at"))?,
            expires_at: self.instant(&format!("consent_{ch}_expires_at"))?,
            withdrawn_at: self.instant(&format!("consent_{ch}_withdrawn_at"))?,
            evidence: self.optional(&format!("consent_{ch}_evidence")),
        })
    }
}
