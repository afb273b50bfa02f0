//! The EU/EEA (GDPR, ePrivacy Directive, Unfair Commercial Practices
//! Directive) and the UK (UK GDPR, PECR, DMCC Act): the same obligations
//! under two sets of statutes, so one implementation serves both.

use crate::message::{
    Message, check_subject, consent_finding, consent_gap, consent_in_force, finding,
    require_opt_out, withdrawal,
};
use crate::rules::{self, Rule};
use crate::text::is_plausible_email;
use gatehouse_guest::prelude::*;

/// The data-protection regime (GDPR / UK GDPR).
pub struct DataProtection {
    /// Art. 6(1): a lawful basis.
    pub lawful_basis: Rule,
    /// Art. 7(3), 21(3): withdrawal and objection.
    pub withdrawn: Rule,
    /// The law, as a marketer reads it.
    pub law: &'static str,
}

/// The electronic-marketing regime (ePrivacy / PECR).
pub struct Marketing {
    /// Consent or the soft opt-in.
    pub consent: Rule,
    /// Sender identity and an opt-out address.
    pub identity: Rule,
    /// The law, as a marketer reads it.
    pub law: &'static str,
}

/// The EU's GDPR.
pub const GDPR: DataProtection = DataProtection {
    lawful_basis: rules::GDPR_LAWFUL_BASIS,
    withdrawn: rules::GDPR_WITHDRAWN,
    law: "EU law (GDPR)",
};
/// The UK GDPR.
pub const UK_GDPR: DataProtection = DataProtection {
    lawful_basis: rules::UK_GDPR_LAWFUL_BASIS,
    withdrawn: rules::UK_GDPR_WITHDRAWN,
    law: "UK law (UK GDPR)",
};
/// The EU's ePrivacy Directive.
pub const EPRIVACY: Marketing = Marketing {
    consent: rules::EPRIVACY_CONSENT,
    identity: rules::EPRIVACY_IDENTITY,
    law: "EU law (ePrivacy Directive)",
};
/// The UK's PECR.
pub const PECR: Marketing = Marketing {
    consent: rules::PECR_CONSENT,
    identity: rules::PECR_IDENTITY,
    law: "UK law (PECR)",
};

/// Withdrawn consent stops commercial messages; any message needs consent
/// covering its purpose, a contract on record (for a transactional or
/// relationship message), or a documented lawful basis the action cites.
pub fn data_protection(regime: &DataProtection, m: &Message<'_>, judge: &mut Judge) {
    let law = regime.law;
    if m.to.consent.kind == ConsentKind::Withdrawn && m.commercial() {
        judge.deny(consent_finding(
            &regime.withdrawn,
            m,
            format!(
                "This message is commercial and {} (or objected to marketing); under {law} no \
                 commercial message may go out on any basis after that. Do not send it.",
                withdrawal(m)
            ),
        ));
        return;
    }
    let consented = consent_in_force(
        m,
        &[
            ConsentKind::Express,
            ConsentKind::ExpressWritten,
            ConsentKind::SoftOptIn,
        ],
    );
    // Art. 6(1)(b): a transactional or relationship message to a customer
    // (a purchase or contract on record) rests on that contract.
    let contract = !m.commercial()
        && m.to
            .relationship
            .last_purchase_at
            .is_some_and(|at| at <= m.send_at);
    if consented || contract {
        return;
    }
    let basis = m.to.lawful_basis.as_deref().map(str::trim).unwrap_or("");
    if basis.is_empty() {
        judge.deny(consent_finding(
            &regime.lawful_basis,
            m,
            format!(
                "Under {law} this {} {} needs consent or another lawful basis, and {} and no \
                 other basis is on record. Do not send it.",
                m.purpose_name(),
                m.noun(),
                consent_gap(m)
            ),
        ));
        return;
    }
    let (name, evidence) = basis_evidence(basis, &m.to.contact_id);
    if !m.action.evidence.iter().any(|e| e.trim() == evidence) {
        judge.deny(
            finding(
                &regime.lawful_basis,
                format!(
                    "This message relies on the lawful basis \"{name}\" under {law} but does not \
                     cite the record that documents it: add \"{evidence}\" to the action's \
                     evidence."
                ),
            )
            .evidence([m.to.contact_id.clone()])
            .at("to.lawful-basis", 0, basis),
        );
    }
}

/// The basis's name and the id of the record that documents it: the id
/// after a colon (`contract:ev-77`), else the contact record.
fn basis_evidence<'a>(basis: &'a str, contact_id: &'a str) -> (&'a str, &'a str) {
    match basis.split_once(':') {
        Some((name, id)) if !id.trim().is_empty() => (name.trim(), id.trim()),
        _ => (basis.trim_end_matches(':').trim(), contact_id),
    }
}

/// Commercial email and texts need prior consent, or the soft opt-in: an
/// existing customer (a purchase on record) offered the opt-out.
pub fn marketing(regime: &Marketing, m: &Message<'_>, judge: &mut Judge) {
    if !m.commercial() {
        return;
    }
    let law = regime.law;
    let consent = consent_in_force(m, &[ConsentKind::Express, ConsentKind::ExpressWritten]);
    let soft_opt_in = consent_in_force(m, &[ConsentKind::SoftOptIn])
        && m.to
            .relationship
            .last_purchase_at
            .is_some_and(|at| at <= m.send_at);
    if !consent && !soft_opt_in {
        let why = if m.to.consent.kind == ConsentKind::SoftOptIn {
            "the soft opt-in needs a purchase on record, and there is none".to_string()
        } else {
            consent_gap(m)
        };
        judge.deny(consent_finding(
            &regime.consent,
            m,
            format!(
                "Under {law} commercial {}s need prior consent or the soft opt-in of an existing \
                 customer, and {why}. Do not send it.",
                m.noun()
            ),
        ));
    }
    if let Some((field, value)) = concealed_sender(m) {
        judge.deny(
            finding(
                &regime.identity,
                format!(
                    "Sender profile `{}` gives no valid `{field}`, so this {} conceals who sends \
                     it; {law} forbids that. Fix the profile.",
                    m.sender.profile,
                    m.noun()
                ),
            )
            .at(&format!("sender.{field}"), 0, value),
        );
    }
    require_opt_out(
        m,
        &regime.identity,
        &format!("{law} requires every marketing message to give a valid address to opt out"),
        judge,
    );
}

/// The sender profile field whose absence conceals the sender, with its
/// value: a name (legal name or brand), and the address the message comes
/// from (a valid from-address for email, a sender id for texts).
fn concealed_sender<'a>(m: &Message<'a>) -> Option<(&'static str, &'a str)> {
    let s = m.sender;
    if s.legal_name.trim().is_empty() && s.brand.trim().is_empty() {
        return Some(("legal-name", s.legal_name.as_str()));
    }
    match m.channel {
        Channel::Email if !is_plausible_email(&s.from_address) => {
            Some(("from-address", s.from_address.as_str()))
        }
        Channel::Sms if s.sms_sender_id.trim().is_empty() => {
            Some(("sms-sender-id", s.sms_sender_id.as_str()))
        }
        _ => None,
    }
}

/// Misleading subject lines (UCPD / DMCC Act) in commercial messages.
pub fn misleading(rule: &Rule, law: &str, m: &Message<'_>, judge: &mut Judge) {
    if m.commercial() {
        check_subject(m, rule, law, judge);
    }
}
