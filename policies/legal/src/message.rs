//! A message as the obligations read it, and the checks several regimes
//! share: consent in force, the opt-out mechanism, appended text.

use crate::rules::Rule;
use crate::text::{append_once, contains_words, find_word, unsubscribe_problem, utc_date};
use gatehouse_guest::prelude::*;

/// The opt-out keyword a text must carry (matched as a word, any case).
pub const OPT_OUT_KEYWORD: &str = "STOP";

/// One email or text, with what the obligations need.
pub struct Message<'a> {
    /// The action.
    pub action: &'a Action,
    /// Email or SMS.
    pub channel: Channel,
    /// The recipient (stamped by the host).
    pub to: &'a Recipient,
    /// The sender profile (stamped by the host).
    pub sender: &'a Sender,
    /// Why it is sent.
    pub purpose: Purpose,
    /// The subject (emails).
    pub subject: Option<&'a str>,
    /// The body.
    pub body: &'a str,
    /// The unsubscribe mechanism the email carries.
    pub unsubscribe: Option<&'a str>,
    /// The postal address the email carries.
    pub postal_address: Option<&'a str>,
    /// When it goes out.
    pub send_at: Timestamp,
}

impl<'a> Message<'a> {
    /// The message of an email or SMS action.
    pub fn of(action: &'a Action, ctx: &RunContext) -> Option<Self> {
        let send_at = action.send_time(ctx.now)?;
        match &action.kind {
            ActionKind::Email(e) => Some(Self {
                action,
                channel: Channel::Email,
                to: &e.to,
                sender: &e.sender,
                purpose: e.purpose,
                subject: Some(&e.subject),
                body: &e.body,
                unsubscribe: e.unsubscribe.as_deref(),
                postal_address: e.postal_address.as_deref(),
                send_at,
            }),
            ActionKind::Sms(s) => Some(Self {
                action,
                channel: Channel::Sms,
                to: &s.to,
                sender: &s.sender,
                purpose: s.purpose,
                subject: None,
                body: &s.body,
                unsubscribe: None,
                postal_address: None,
                send_at,
            }),
            _ => None,
        }
    }

    /// True for a commercial message.
    pub fn commercial(&self) -> bool {
        self.purpose == Purpose::Commercial
    }

    /// "email" or "text message".
    pub fn noun(&self) -> &'static str {
        match self.channel {
            Channel::Email => "email",
            Channel::Sms => "text message",
        }
    }

    /// "commercial", "transactional" or "relationship".
    pub fn purpose_name(&self) -> &'static str {
        match self.purpose {
            Purpose::Commercial => "commercial",
            Purpose::Transactional => "transactional",
            Purpose::Relationship => "relationship",
        }
    }
}

/// A finding of `rule`, citing its statute.
pub fn finding(rule: &Rule, message: impl Into<String>) -> Finding {
    Finding::new(rule.id, rule.severity, message).citing(rule.citation)
}

/// The name of a consent kind, as in the contract.
pub fn kind_name(kind: ConsentKind) -> &'static str {
    match kind {
        ConsentKind::ExpressWritten => "express-written",
        ConsentKind::Express => "express",
        ConsentKind::Implied => "implied",
        ConsentKind::SoftOptIn => "soft-opt-in",
        ConsentKind::None => "none",
        ConsentKind::Withdrawn => "withdrawn",
    }
}

/// A finding about the recipient's consent, pointing at its kind.
pub fn consent_finding(rule: &Rule, m: &Message<'_>, message: String) -> Finding {
    let mut ev = vec![m.to.contact_id.clone()];
    ev.extend(m.to.consent.evidence.clone());
    finding(rule, message)
        .evidence(ev)
        .at("to.consent.kind", 0, kind_name(m.to.consent.kind))
}

/// True when the recipient's consent is of one of `kinds`, for this
/// channel, covers the message's purpose and is in force at send time.
pub fn consent_in_force(m: &Message<'_>, kinds: &[ConsentKind]) -> bool {
    let c = &m.to.consent;
    kinds.contains(&c.kind) && c.channel == m.channel && c.covers(m.purpose, m.send_at)
}

/// Why the consent on record does not serve, in words.
pub fn consent_gap(m: &Message<'_>) -> String {
    let c = &m.to.consent;
    match c.kind {
        ConsentKind::None => "no consent is on record".to_string(),
        ConsentKind::Withdrawn => withdrawal(m),
        kind if c.expires_at.is_some_and(|end| m.send_at >= end) => {
            format!("the {} consent on record has lapsed", kind_name(kind))
        }
        kind if !c.purposes.contains(&m.purpose) => format!(
            "the {} consent on record does not cover {} messages",
            kind_name(kind),
            m.purpose_name()
        ),
        kind => format!("the consent on record is {}", kind_name(kind)),
    }
}

/// "the recipient withdrew consent on YYYY-MM-DD (UTC)", or without the
/// date when the record lacks it.
pub fn withdrawal(m: &Message<'_>) -> String {
    match m.to.consent.withdrawn_at {
        Some(at) => format!("the recipient withdrew consent on {} (UTC)", utc_date(at)),
        None => "the recipient withdrew consent (the record does not say when)".to_string(),
    }
}

/// Make sure an email carries a working unsubscribe mechanism, or a text
/// an opt-out instruction: when it does not, append the sender profile's
/// (modify), or deny when the profile has none.
pub fn require_opt_out(m: &Message<'_>, rule: &Rule, law: &str, judge: &mut Judge) {
    match m.channel {
        Channel::Email => {
            let Some(problem) = unsubscribe_problem(m.unsubscribe) else {
                return;
            };
            let at = finding(rule, format!("This email {problem}; {law}.")).at(
                "unsubscribe",
                0,
                m.unsubscribe.unwrap_or(""),
            );
            match m
                .sender
                .unsubscribe
                .as_deref()
                .filter(|u| unsubscribe_problem(Some(u)).is_none())
            {
                Some(mechanism) => {
                    let notice =
                        format!("To stop receiving these emails, unsubscribe: {mechanism}");
                    let fix = format!(
                        "set the unsubscribe mechanism to {mechanism} (sender profile `{}`) and appended the notice",
                        m.sender.profile
                    );
                    let mechanism = mechanism.to_string();
                    judge.modify(m.action, at.fixed(fix), move |changed| {
                        if let ActionKind::Email(e) = &mut changed.kind {
                            e.unsubscribe = Some(mechanism);
                            append_once(&mut e.body, &notice);
                        }
                    });
                }
                None => {
                    judge.deny(at.fixed(format!(
                        "none possible: sender profile `{}` has no working `unsubscribe`",
                        m.sender.profile
                    )));
                }
            }
        }
        Channel::Sms => {
            if find_word(m.body, OPT_OUT_KEYWORD).is_some() {
                return;
            }
            let at = finding(
                rule,
                format!("This text does not say how to opt out (reply {OPT_OUT_KEYWORD}); {law}."),
            )
            .at("body", m.body.len(), "");
            match m
                .sender
                .sms_opt_out
                .as_deref()
                .filter(|o| find_word(o, OPT_OUT_KEYWORD).is_some())
            {
                Some(instruction) => {
                    let fix = format!(
                        "appended \"{instruction}\" (sender profile `{}`)",
                        m.sender.profile
                    );
                    let instruction = instruction.to_string();
                    judge.modify(m.action, at.fixed(fix), move |changed| {
                        if let ActionKind::Sms(s) = &mut changed.kind {
                            append_sentence(&mut s.body, &instruction);
                        }
                    });
                }
                None => {
                    judge.deny(at.fixed(format!(
                        "none possible: sender profile `{}` has no `sms-opt-out` naming {OPT_OUT_KEYWORD}",
                        m.sender.profile
                    )));
                }
            }
        }
    }
}

/// Append a sentence to a text message, after a space.
pub fn append_sentence(body: &mut String, sentence: &str) {
    if contains_words(body, sentence) {
        return;
    }
    body.truncate(body.trim_end().len());
    if !body.is_empty() {
        body.push(' ');
    }
    body.push_str(sentence);
}

/// Make sure a message names the sender with a mailing address and a
/// contact (CASL-style identification): append the profile's when the
/// body lacks them, deny when the profile lacks them.
pub fn require_identification(m: &Message<'_>, rule: &Rule, law: &str, judge: &mut Judge) {
    let s = m.sender;
    let postal = s
        .postal_address
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());
    let contact = s
        .contact
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let has_name = contains_words(m.body, &s.legal_name) || contains_words(m.body, &s.brand);
    let has_postal = postal.is_some_and(|p| contains_words(m.body, p))
        || m.postal_address
            .is_some_and(|p| !p.trim().is_empty() && contains_words(m.body, p));
    let has_contact = contact.is_some_and(|c| contains_words(m.body, c))
        || m.unsubscribe.is_some_and(|u| contains_words(m.body, u));
    if has_name && has_postal && has_contact {
        return;
    }
    let at = finding(
        rule,
        format!(
            "This {} does not identify the sender with a name, a mailing address and a way to \
             contact them; {law}.",
            m.noun()
        ),
    )
    .at("body", m.body.len(), "");
    let (Some(postal), Some(contact)) = (postal, contact) else {
        judge.deny(at.fixed(format!(
            "none possible: sender profile `{}` lacks `{}`",
            s.profile,
            if postal.is_none() {
                "postal-address"
            } else {
                "contact"
            }
        )));
        return;
    };
    // The postal address often starts with the legal name already.
    let line = if contains_words(postal, &s.legal_name) {
        format!("{postal}. Contact: {contact}")
    } else {
        format!("{}, {postal}. Contact: {contact}", s.legal_name)
    };
    let fix = format!("appended \"{line}\" (sender profile `{}`)", s.profile);
    judge.modify(m.action, at.fixed(fix), move |changed| {
        match &mut changed.kind {
            ActionKind::Email(e) => append_once(&mut e.body, &line),
            ActionKind::Sms(t) => append_sentence(&mut t.body, &line),
            _ => {}
        }
    });
}

/// Deny a deceptive subject line under `rule`.
pub fn check_subject(m: &Message<'_>, rule: &Rule, law: &str, judge: &mut Judge) {
    let Some(subject) = m.subject else {
        return;
    };
    match crate::subject::deceptive(subject, m.body, m.to.first_contact) {
        Ok(None) => {}
        Ok(Some(claim)) => {
            let why = if claim.family == "thread" {
                format!(
                    "\"{}\" pretends to continue a conversation, but this is the first message to \
                     this contact",
                    claim.text
                )
            } else {
                format!(
                    "\"{}\" makes a {} claim the body does not back",
                    claim.text, claim.family
                )
            };
            judge.deny(
                finding(
                    rule,
                    format!("The subject line is deceptive: {why}; {law}."),
                )
                .at("subject", claim.start, &claim.text),
            );
        }
        Err(e) => {
            judge.deny(finding(&crate::rules::JURISDICTION, e));
        }
    }
}
