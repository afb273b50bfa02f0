//! The `legal` policy pack: the law on outbound email and text messages,
//! one rule per legal obligation, each citing its statute.
//!
//! Which law applies follows the recipient's country, through the
//! jurisdiction table `data/jurisdictions.csv` (data, shipped in the
//! component), plus any regime the sender profile adds (`sender.regimes`,
//! e.g. `can-spam` for a US sender that applies it everywhere). A country
//! without a row gets no regime from this pack. The repository's
//! `README.md`, section "Which law applies", shows the table, every rule
//! with its statute, and how a legal team adds a regime; a unit test keeps
//! it in step with the table and [`rules::ALL`].
//!
//! # Fix before deny
//!
//! Where an edit makes the message lawful, the pack makes it (modify), and
//! the finding's `fix` says what it did: the sender profile's unsubscribe
//! mechanism, postal address, identification or opt-out instruction is
//! appended; a marketing text outside 08:00-21:00 in the recipient's time zone is
//! rescheduled to the next 08:00 there (the host answers local time, with
//! daylight saving time). It denies only what no edit can make lawful:
//! missing, withdrawn, lapsed or uncovering consent, a missing lawful
//! basis, a deceptive subject, or a fix the sender profile has no
//! ingredient for (named in the finding).
//!
//! The recipient facts (`to.*`) and the sender (`sender.*`) are stamped by
//! the host, so the pack trusts them.
//!
//! # Configuration
//!
//! - `ad-disclosure-required`: `true` makes every commercial email to the
//!   US sent without express consent say it is an ad (CAN-SPAM).
//! - `ad-disclosure`: that text (default
//!   [`us::DEFAULT_AD_DISCLOSURE`]).

use gatehouse_guest::prelude::*;

pub mod ca;
pub mod eu;
pub mod jurisdiction;
pub mod message;
pub mod rules;
pub mod subject;
pub mod text;
pub mod us;

/// The pack's name.
pub const PACK_NAME: &str = "legal";
/// The pack's version.
pub const PACK_VERSION: &str = "0.2.0";

/// The legal policy pack.
pub struct Legal;

impl Policy for Legal {
    fn describe() -> PackInfo {
        rules::ALL
            .iter()
            .fold(PackInfo::new(PACK_NAME, PACK_VERSION), |info, r| {
                info.cited_rule(r.id, r.severity, r.citation, r.description)
            })
    }

    fn validate(action: Action, ctx: RunContext) -> Verdict {
        let mut judge = Judge::new();
        let Some(m) = message::Message::of(&action, &ctx) else {
            return Verdict::Allow;
        };
        let regimes = match jurisdiction::regimes_for(&m.to.country, &m.sender.regimes) {
            Ok(r) => r,
            Err(e) => {
                judge.deny(message::finding(&rules::JURISDICTION, e).at(
                    "to.country",
                    0,
                    &m.to.country,
                ));
                return judge.verdict();
            }
        };
        for regime in &regimes {
            match regime.as_str() {
                "can-spam" => us::can_spam(&m, &mut judge),
                "tcpa" => us::tcpa(&m, &mut judge),
                "casl" => ca::casl(&m, &mut judge),
                "gdpr" => eu::data_protection(&eu::GDPR, &m, &mut judge),
                "uk-gdpr" => eu::data_protection(&eu::UK_GDPR, &m, &mut judge),
                "eprivacy" => eu::marketing(&eu::EPRIVACY, &m, &mut judge),
                "pecr" => eu::marketing(&eu::PECR, &m, &mut judge),
                "ucpd" => eu::misleading(
                    &rules::UCPD_MISLEADING_SUBJECT,
                    "EU law (Unfair Commercial Practices Directive) forbids it",
                    &m,
                    &mut judge,
                ),
                "uk-cpr" => eu::misleading(
                    &rules::UK_CPR_MISLEADING_SUBJECT,
                    "UK law (DMCC Act 2024) forbids it",
                    &m,
                    &mut judge,
                ),
                _ => {}
            }
        }
        judge.verdict()
    }
}

gatehouse_guest::export_policy!(Legal);

#[cfg(test)]
mod tests;
