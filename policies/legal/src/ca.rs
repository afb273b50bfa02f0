//! Canada: CASL, for commercial electronic messages (and, for
//! identification and unsubscribe, every message, s. 6(6)).

use crate::message::{
    Message, check_subject, consent_finding, consent_gap, consent_in_force, require_identification,
    require_opt_out,
};
use crate::rules::*;
use gatehouse_guest::prelude::*;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// An existing business relationship from a purchase lasts two years
/// (s. 10(10)(a)-(b)).
pub const PURCHASE_WINDOW_MS: i64 = 2 * 365 * DAY_MS;
/// One from an inquiry lasts six months (s. 10(10)(c)-(d)).
pub const INQUIRY_WINDOW_MS: i64 = 183 * DAY_MS;

/// CASL.
pub fn casl(m: &Message<'_>, judge: &mut Judge) {
    if m.commercial() && !casl_consent(m) {
        judge.deny(consent_finding(
            &CASL_CONSENT,
            m,
            format!(
                "Canadian law (CASL) requires consent for a commercial {}, and {}: express \
                 consent, or implied consent from a purchase within two years or an inquiry \
                 within six months. Do not send it.",
                m.noun(),
                consent_gap(m)
            ),
        ));
    }
    let law = "Canadian law (CASL) requires it of every message";
    require_identification(m, &CASL_IDENTIFICATION, law, judge);
    require_opt_out(m, &CASL_UNSUBSCRIBE, law, judge);
    if m.commercial() {
        check_subject(
            m,
            &CASL_MISLEADING_SUBJECT,
            "Canadian law (Competition Act s. 74.011) forbids it",
            judge,
        );
    }
}

/// Express consent in force, or implied consent in force: an implied (or
/// soft opt-in) consent within its expiry, or a relationship recent enough.
fn casl_consent(m: &Message<'_>) -> bool {
    if consent_in_force(m, &[ConsentKind::Express, ConsentKind::ExpressWritten]) {
        return true;
    }
    let c = &m.to.consent;
    if !matches!(c.kind, ConsentKind::Implied | ConsentKind::SoftOptIn) || c.channel != m.channel {
        return false;
    }
    if c.expires_at.is_some_and(|end| m.send_at >= end) {
        return false;
    }
    let r = &m.to.relationship;
    let recent = |at: Option<Timestamp>, window: i64| {
        at.is_some_and(|at| at <= m.send_at && m.send_at - at < window)
    };
    (c.expires_at.is_some() && c.purposes.contains(&m.purpose))
        || recent(r.last_purchase_at, PURCHASE_WINDOW_MS)
        || recent(r.last_inquiry_at, INQUIRY_WINDOW_MS)
}
