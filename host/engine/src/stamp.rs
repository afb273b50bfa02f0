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

use crate::senders::Senders;
use gatehouse_sandbox::Dataset;
use gatehouse_sandbox::{
    Action, Channel, Consent, ConsentKind, Evidence, Finding, Purpose, Relationship, Severity,
};

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
    Recorded(Box<Finding>),
}

impl StampError {
    /// The finding that blocks the action.
    pub fn finding(&self) -> Finding {
        let rule = match self {
            Self::UnknownRecipient { .. } => UNKNOWN_RECIPIENT,
            Self::MissingFact { .. } => MISSING_FACT,
            Self::UnknownSender { .. } => UNKNOWN_SENDER,
            Self::Recorded(f) => return (**f).clone(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_sandbox::{ActionKind, Email, Recipient, Sender};

    fn dataset(contact: &str) -> Dataset {
        Dataset::from_json(&format!(
            r#"{{"contacts": [{contact}], "history": [{{"id": "h-1", "partition": "US", "contact_id": "c-2", "channel": "email"}}]}}"#
        ))
        .unwrap()
    }

    const FULL: &str = r#"{"id": "c-1", "partition": "US", "email": "ann@example.com", "country": "US",
        "time_zone": "America/New_York", "consent_email": "express", "consent_email_purposes": "commercial, relationship",
        "consent_email_obtained_at": "2025-06-01T12:00:00Z", "consent_email_evidence": "form-9",
        "last_purchase_at": "2026-01-02T00:00:00-05:00"}"#;

    fn email(contact: &str, agent: &str) -> Action {
        let to = Recipient {
            contact_id: contact.into(),
            address: "forged@example.com".into(),
            region: "EU".into(),
            country: "DE".into(),
            consent: Consent::default(),
            lawful_basis: Some("contract".into()),
            relationship: Relationship::default(),
            time_zone: "Europe/Berlin".into(),
            first_contact: false,
        };
        Action {
            id: "a-1".into(),
            agent: agent.into(),
            region: "US".into(),
            estimated_cost: Default::default(),
            evidence: Vec::new(),
            rationale: String::new(),
            kind: ActionKind::Email(Email {
                to,
                sender: Sender {
                    legal_name: "Someone Else LLC".into(),
                    ..Default::default()
                },
                reply_to: None,
                subject: "Hi".into(),
                body: "Hello".into(),
                unsubscribe: None,
                postal_address: None,
                purpose: Purpose::Commercial,
                send_at: None,
                targeting: Vec::new(),
            }),
        }
    }

    fn senders() -> Senders {
        Senders::parse(crate::senders::TEST_PROFILE).unwrap()
    }

    #[test]
    fn facts_and_sender_come_from_the_host_not_the_skill() {
        let mut a = email("c-1", "outreach-eu");
        stamp(&mut a, &dataset(FULL), &senders()).unwrap();
        let to = a.recipient().unwrap();
        assert_eq!(to.address, "ann@example.com");
        assert_eq!((to.country.as_str(), to.region.as_str()), ("US", "US"));
        assert_eq!(to.time_zone, "America/New_York");
        assert_eq!(to.consent.kind, ConsentKind::Express);
        assert_eq!(
            to.consent.purposes,
            [Purpose::Commercial, Purpose::Relationship]
        );
        assert_eq!(to.consent.obtained_at, Some(1_748_779_200_000));
        assert_eq!(to.consent.evidence.as_deref(), Some("form-9"));
        assert_eq!(to.lawful_basis, None, "the skill's basis is not kept");
        assert_eq!(to.relationship.last_purchase_at, Some(1_767_330_000_000));
        assert!(to.first_contact);
        let sender = a.sender().unwrap();
        assert_eq!(
            (sender.profile.as_str(), sender.legal_name.as_str()),
            ("acme", "Acme Inc.")
        );
    }

    #[test]
    fn a_missing_fact_is_named_never_guessed() {
        for (field, contact) in [
            (
                "time_zone",
                FULL.replace(r#""time_zone": "America/New_York","#, ""),
            ),
            ("country", FULL.replace(r#""country": "US","#, "")),
            (
                "consent_email",
                FULL.replace(r#""consent_email": "express","#, ""),
            ),
            (
                "consent_email_purposes",
                FULL.replace(
                    r#""consent_email_purposes": "commercial, relationship","#,
                    "",
                ),
            ),
        ] {
            let mut a = email("c-1", "outreach-eu");
            let err = stamp(&mut a, &dataset(&contact), &senders()).unwrap_err();
            let f = err.finding();
            assert_eq!(f.rule, MISSING_FACT);
            assert!(
                f.message.contains(&format!("`{field}`")),
                "{field}: {}",
                f.message
            );
            assert!(f.message.contains("c-1") && !f.message.contains('\n'));
        }
    }

    #[test]
    fn a_malformed_fact_is_named_with_what_is_allowed() {
        for (field, from, to, expect) in [
            ("time_zone", "America/New_York", "UTC-5", "IANA"),
            (
                "consent_email",
                "\"express\"",
                "\"granted\"",
                "express-written",
            ),
            (
                "consent_email_purposes",
                "commercial, relationship",
                "marketing",
                "transactional",
            ),
            (
                "last_purchase_at",
                "2026-01-02T00:00:00-05:00",
                "2026-01-02",
                "RFC 3339",
            ),
        ] {
            let mut a = email("c-1", "outreach-eu");
            let contact = FULL.replace(from, to);
            let err = stamp(&mut a, &dataset(&contact), &senders()).unwrap_err();
            let msg = err.to_string();
            assert!(
                msg.contains(field) && msg.contains(expect),
                "{field}: {msg}"
            );
        }
    }

    #[test]
    fn an_agent_without_a_profile_or_an_unknown_contact_is_blocked() {
        let mut a = email("c-1", "rogue");
        let err = stamp(&mut a, &dataset(FULL), &senders()).unwrap_err();
        assert_eq!(err.finding().rule, UNKNOWN_SENDER);
        let mut a = email("c-404", "outreach-eu");
        let err = stamp(&mut a, &dataset(FULL), &senders()).unwrap_err();
        assert_eq!(err.finding().rule, UNKNOWN_RECIPIENT);
    }

    #[test]
    fn none_and_withdrawn_need_no_purposes() {
        let contact = FULL
            .replace(
                r#""consent_email": "express""#,
                r#""consent_email": "withdrawn""#,
            )
            .replace(
                r#""consent_email_purposes": "commercial, relationship","#,
                "",
            );
        let mut a = email("c-1", "outreach-eu");
        stamp(&mut a, &dataset(&contact), &senders()).unwrap();
        assert_eq!(a.recipient().unwrap().consent.kind, ConsentKind::Withdrawn);
    }

    #[test]
    fn given_facts_must_be_complete() {
        let mut a = email("c-1", "outreach-eu");
        if let Some(s) = a.sender_mut() {
            s.profile = "acme".into();
        }
        check_given(&a).unwrap();
        if let Some(to) = a.recipient_mut() {
            to.time_zone = "+01:00".into();
        }
        let err = check_given(&a).unwrap_err().to_string();
        assert!(err.contains("to.time-zone"), "{err}");
    }
}
