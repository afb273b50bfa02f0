//! The United States: CAN-SPAM for commercial email, the TCPA for texts.

use crate::message::{
    Message, check_subject, consent_finding, consent_gap, consent_in_force, finding,
    require_opt_out,
};
use crate::rules::*;
use crate::text::{append_once, contains_words, is_plausible_email};
use gatehouse_guest::prelude::*;

/// The ad disclosure used when the `ad-disclosure` key is absent or empty.
pub const DEFAULT_AD_DISCLOSURE: &str = "Advertisement";
/// The first minute of the day (local) a text may reach a US recipient.
pub const FIRST_MINUTE: u32 = 8 * 60;
/// The first minute of the day (local) a text may no longer reach one.
pub const END_MINUTE: u32 = 21 * 60;

/// CAN-SPAM. The header rule covers every email (15 U.S.C. 7704(a)(1)
/// names transactional and relationship messages too); the rest covers
/// commercial email only (transactional and relationship email is out of
/// its scope, 15 U.S.C. 7702(2)(B), 7704(a)(2)-(5)).
pub fn can_spam(m: &Message<'_>, judge: &mut Judge) {
    if m.channel != Channel::Email {
        return;
    }
    if m.sender.from_name.trim().is_empty() || !is_plausible_email(&m.sender.from_address) {
        judge.deny(
            finding(
                &CAN_SPAM_HEADER,
                format!(
                    "Sender profile `{}` does not give a display name and a valid from-address \
                     (\"{}\"); US law (CAN-SPAM) forbids a misleading header on any email. Fix \
                     the profile.",
                    m.sender.profile, m.sender.from_address
                ),
            )
            .at("sender.from-address", 0, &m.sender.from_address),
        );
    }
    if !m.commercial() {
        return;
    }
    let law = "US law (CAN-SPAM) requires it of every commercial email";
    check_subject(
        m,
        &CAN_SPAM_DECEPTIVE_SUBJECT,
        "US law (CAN-SPAM) forbids it",
        judge,
    );
    require_opt_out(m, &CAN_SPAM_OPT_OUT, law, judge);
    require_postal_address(m, law, judge);
    require_ad_identification(m, judge);
}

fn require_postal_address(m: &Message<'_>, law: &str, judge: &mut Judge) {
    let carried = m.postal_address.map(str::trim).filter(|p| !p.is_empty());
    if carried.is_some() {
        return;
    }
    let at = finding(
        &CAN_SPAM_POSTAL_ADDRESS,
        format!("This email does not give the sender's postal address; {law}."),
    )
    .at("postal-address", 0, carried.unwrap_or(""));
    match m
        .sender
        .postal_address
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        Some(address) => {
            let fix = format!(
                "appended the postal address \"{address}\" (sender profile `{}`)",
                m.sender.profile
            );
            let address = address.to_string();
            judge.modify(m.action, at.fixed(fix), move |changed| {
                if let ActionKind::Email(e) = &mut changed.kind {
                    e.postal_address = Some(address.clone());
                    append_once(&mut e.body, &address);
                }
            });
        }
        None => {
            judge.deny(at.fixed(format!(
                "none possible: sender profile `{}` has no `postal-address`",
                m.sender.profile
            )));
        }
    }
}

/// When configured, a commercial email sent without affirmative consent
/// says it is an advertisement.
fn require_ad_identification(m: &Message<'_>, judge: &mut Judge) {
    let required = host::config("ad-disclosure-required").is_some_and(|v| {
        ["true", "yes", "1"]
            .iter()
            .any(|t| v.trim().eq_ignore_ascii_case(t))
    });
    if !required || consent_in_force(m, &[ConsentKind::Express, ConsentKind::ExpressWritten]) {
        return;
    }
    let configured = host::config("ad-disclosure").unwrap_or_default();
    let disclosure = match configured.trim() {
        "" => DEFAULT_AD_DISCLOSURE.to_string(),
        text => text.to_string(),
    };
    if contains_words(m.body, &disclosure) {
        return;
    }
    let at = finding(
        &CAN_SPAM_AD_IDENTIFICATION,
        "This commercial email goes to someone who has not opted in, so US law (CAN-SPAM) \
         requires it to say it is an advertisement.",
    )
    .at("body", m.body.len(), "")
    .fixed(format!("appended \"{disclosure}\""));
    judge.modify(m.action, at, move |changed| {
        if let ActionKind::Email(e) = &mut changed.kind {
            append_once(&mut e.body, &disclosure);
        }
    });
}

/// The TCPA: texts to the US. Consent and the opt-out instruction cover
/// every text; quiet hours and naming the business cover marketing texts.
pub fn tcpa(m: &Message<'_>, judge: &mut Judge) {
    if m.channel != Channel::Sms {
        return;
    }
    let kinds: &[ConsentKind] = if m.commercial() {
        &[ConsentKind::ExpressWritten]
    } else {
        &[ConsentKind::ExpressWritten, ConsentKind::Express]
    };
    if !consent_in_force(m, kinds) {
        let needed = if m.commercial() {
            "prior express written consent"
        } else {
            "prior express consent"
        };
        judge.deny(consent_finding(
            &TCPA_CONSENT,
            m,
            format!(
                "US law (TCPA) requires {needed} for this {} text, and {}: do not send it.",
                m.purpose_name(),
                consent_gap(m)
            ),
        ));
    }
    // Quiet hours bind telephone solicitations (47 CFR 64.1200(c)(1),
    // (f)(15)) and the sender's name telemarketing (d)(4): marketing
    // texts, not a delivery notice or a password code.
    if !m.commercial() {
        require_opt_out(m, &TCPA_OPT_OUT, "US law (TCPA) requires it", judge);
        return;
    }
    quiet_hours(m, judge);
    if !contains_words(m.body, &m.sender.brand) {
        let brand = m.sender.brand.trim().to_string();
        let at = finding(
            &TCPA_SENDER_ID,
            "This text does not name the business it is sent for; US law (TCPA) requires it.",
        )
        .at("body", 0, "");
        if brand.is_empty() {
            judge.deny(at.fixed(format!(
                "none possible: sender profile `{}` has no brand",
                m.sender.profile
            )));
        } else {
            let fix = format!("prepended \"{brand}: \"");
            judge.modify(m.action, at.fixed(fix), move |changed| {
                if let ActionKind::Sms(s) = &mut changed.kind
                    && !contains_words(&s.body, &brand)
                {
                    s.body = format!("{brand}: {}", s.body);
                }
            });
        }
    }
    require_opt_out(m, &TCPA_OPT_OUT, "US law (TCPA) requires it", judge);
}

/// 08:00-21:00 in the recipient's zone at send time; otherwise reschedule
/// to the next 08:00 there. A zone the host cannot read blocks the text.
fn quiet_hours(m: &Message<'_>, judge: &mut Judge) {
    let zone = m.to.time_zone.as_str();
    let local = match host::to_local(zone, m.send_at) {
        Ok(local) => local,
        Err(e) => {
            judge.deny(
                finding(
                    &TCPA_QUIET_HOURS,
                    format!(
                        "The recipient's local time is unknown ({e:?}); the text cannot be timed."
                    ),
                )
                .at("to.time-zone", 0, zone),
            );
            return;
        }
    };
    let minute = u32::from(local.hour) * 60 + u32::from(local.minute);
    if (FIRST_MINUTE..END_MINUTE).contains(&minute) {
        return;
    }
    let at = finding(
        &TCPA_QUIET_HOURS,
        format!(
            "It would be {:02}:{:02} on {}-{:02}-{:02} for this recipient ({zone}); US law (TCPA) \
             allows texts only between 08:00 and 21:00 their local time.",
            local.hour, local.minute, local.year, local.month, local.day
        ),
    )
    .at("to.time-zone", 0, zone);
    match host::next_local(zone, m.send_at, 8, 0) {
        Ok(next) => {
            let fix = match host::to_local(zone, next) {
                Ok(t) => format!(
                    "rescheduled to {}-{:02}-{:02} 08:00 {zone} (send-at {next})",
                    t.year, t.month, t.day
                ),
                Err(_) => format!("rescheduled to send-at {next}"),
            };
            judge.modify(m.action, at.fixed(fix), move |changed| {
                changed.reschedule(next)
            });
        }
        Err(e) => {
            judge.deny(at.fixed(format!("none possible: {e:?}")));
        }
    }
}
