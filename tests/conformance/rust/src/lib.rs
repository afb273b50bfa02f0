//! The `claims` pack in Rust: the conformance suite's rule set. The same
//! rules live in `../python/app.py` and `../js/app.js`; `../README.md` is
//! their specification and `../cases.json` the cases all three must pass
//! with identical answers.

use gatehouse_guest::prelude::*;

/// The pack.
pub struct Claims;

const BANNED: &str = "claims.banned-term";
const CONSENT: &str = "claims.consent";
const QUIET: &str = "claims.quiet-hours";
const BUDGET: &str = "claims.budget-jump";
const AUDIENCE: &str = "claims.audience-region";
const SENSITIVE: &str = "claims.sensitive-targeting";
const UNSUBSCRIBE: &str = "claims.unsubscribe";

const QUIET_CITATION: &str = "47 CFR 64.1200(c)(1)";
const SENSITIVE_CITATION: &str = "GDPR Art. 9(1)";
const UNSUBSCRIBE_CITATION: &str = "15 U.S.C. 7704(a)(3)";

/// The first and the last local hour (exclusive) a commercial message may
/// arrive.
const WINDOW: std::ops::Range<u8> = 8..21;

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// The pack's description (also used by the host-side tests).
pub fn info() -> PackInfo {
    PackInfo::new("claims", "0.2.0")
        .rule(
            BANNED,
            Severity::High,
            "Texts carry no banned term (config `banned-terms`, ASCII case-insensitive).",
        )
        .rule(
            CONSENT,
            Severity::Critical,
            "Emails and texts go only to recipients whose consent covers their purpose at send time, or who have a lawful basis.",
        )
        .cited_rule(
            QUIET,
            Severity::Medium,
            QUIET_CITATION,
            "Commercial messages due between 21:00 and 08:00 recipient time are rescheduled to 08:00 there.",
        )
        .rule(
            BUDGET,
            Severity::Medium,
            "Budget rises beyond `max-budget-ratio` times the current budget go to a human.",
        )
        .rule(
            AUDIENCE,
            Severity::High,
            "Audience exports stay in the action's region.",
        )
        .cited_rule(
            SENSITIVE,
            Severity::High,
            SENSITIVE_CITATION,
            "Messages and audiences picked by a sensitive value about the person go to a human.",
        )
        .cited_rule(
            UNSUBSCRIBE,
            Severity::Low,
            UNSUBSCRIBE_CITATION,
            "Commercial emails carry an unsubscribe mechanism; the sender's is added when missing.",
        )
}

fn finding(rule: &str, severity: Severity, message: String, evidence: Vec<String>) -> Finding {
    Finding {
        rule: rule.to_string(),
        severity,
        message,
        evidence,
        location: None,
        citation: None,
        fix: None,
    }
}

/// A configured list: one entry a line, trimmed, ASCII-lowercased, blank
/// lines dropped.
fn list(key: &str) -> Vec<String> {
    host::config(key)
        .unwrap_or_default()
        .lines()
        .map(|l| l.trim().to_ascii_lowercase())
        .filter(|l| !l.is_empty())
        .collect()
}

/// The texts of an action that the banned-term rule reads, in order.
fn texts(action: &Action) -> Vec<(&'static str, &str)> {
    match &action.kind {
        ActionKind::Email(e) => vec![("subject", e.subject.as_str()), ("body", e.body.as_str())],
        ActionKind::Sms(s) => vec![("body", s.body.as_str())],
        ActionKind::AdBudget(b) => b.ad_copy.iter().map(|c| ("ad-copy", c.as_str())).collect(),
        _ => Vec::new(),
    }
}

fn purpose_name(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::Commercial => "commercial",
        Purpose::Transactional => "transactional",
        Purpose::Relationship => "relationship",
    }
}

/// `+HH:MM` or `-HH:MM`.
fn offset(minutes: i32) -> String {
    let sign = if minutes < 0 { '-' } else { '+' };
    let abs = minutes.unsigned_abs();
    format!("{sign}{:02}:{:02}", abs / 60, abs % 60)
}

/// Why the recipient's consent does not serve a message sent at `at`, if
/// it does not.
fn consent_gap(to: &Recipient, purpose: Purpose, at: Timestamp) -> Option<String> {
    let c = &to.consent;
    if c.kind == ConsentKind::Withdrawn {
        return Some("The recipient opted out of this channel".to_string());
    }
    if to.lawful_basis.is_some() {
        return None;
    }
    if c.kind == ConsentKind::None {
        return Some("No consent or lawful basis on record".to_string());
    }
    if !c.purposes.contains(&purpose) {
        return Some(format!(
            "The consent on record does not cover {} messages",
            purpose_name(purpose)
        ));
    }
    match c.expires_at {
        Some(end) if end <= at => Some(format!("The consent on record lapsed at {end}")),
        _ => None,
    }
}

/// What one call decided: the findings and the edits, before the verdict.
struct Judgement {
    findings: Vec<Finding>,
    escalate: bool,
    changed: Option<Action>,
}

impl Judgement {
    /// The action with the edits so far.
    fn changed(&mut self, original: &Action) -> &mut Action {
        self.changed.get_or_insert_with(|| original.clone())
    }
}

fn judge(action: &Action, ctx: &RunContext) -> Verdict {
    let terms = list("banned-terms");
    let ratio: i128 = host::config("max-budget-ratio")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(2);
    let base = host::config("unsubscribe-base").unwrap_or_default();
    let sensitive = list("sensitive-values");

    let mut j = Judgement {
        findings: Vec::new(),
        escalate: false,
        changed: None,
    };
    // claims.banned-term
    for (field, text) in texts(action) {
        let lower = text.to_ascii_lowercase();
        for term in &terms {
            if let Some(start) = lower.find(term.as_str()) {
                let end = start + term.len();
                let mut f = finding(
                    BANNED,
                    Severity::High,
                    format!("`{field}` contains the banned term \"{term}\""),
                    action.evidence.clone(),
                );
                f.location = Some(Span {
                    field: field.to_string(),
                    start: start as u32,
                    end: end as u32,
                    excerpt: text[start..end].to_string(),
                });
                j.findings.push(f);
            }
        }
    }
    let message = match &action.kind {
        ActionKind::Email(e) => Some((&e.to, e.purpose, e.send_at)),
        ActionKind::Sms(s) => Some((&s.to, s.purpose, s.send_at)),
        _ => None,
    };
    // claims.consent
    if let Some((to, purpose, send_at)) = message
        && let Some(gap) = consent_gap(to, purpose, send_at.unwrap_or(ctx.now))
    {
        let mut evidence = vec![to.contact_id.clone()];
        evidence.extend(to.consent.evidence.clone());
        j.findings
            .push(finding(CONSENT, Severity::Critical, gap, evidence));
    }
    // claims.quiet-hours: the recipient's wall clock when the message goes
    // out, from the host (IANA zone, daylight saving time included).
    if let Some((to, Purpose::Commercial, send_at)) = message {
        quiet_hours(action, &to.time_zone, send_at.unwrap_or(ctx.now), &mut j);
    }
    // claims.budget-jump
    if let ActionKind::AdBudget(b) = &action.kind
        && b.proposed_daily_micros as i128 > b.current_daily_micros as i128 * ratio
    {
        j.escalate = true;
        j.findings.push(finding(
            BUDGET,
            Severity::Medium,
            format!(
                "The daily budget rises from {} to {} micros, more than {ratio}x",
                b.current_daily_micros, b.proposed_daily_micros
            ),
            Vec::new(),
        ));
    }
    // claims.audience-region
    if let ActionKind::Audience(a) = &action.kind
        && a.operation == AudienceOperation::Export
        && a.platform_region != action.region
    {
        j.findings.push(finding(
            AUDIENCE,
            Severity::High,
            format!(
                "Exports contacts of {} to a platform in {}",
                action.region, a.platform_region
            ),
            Vec::new(),
        ));
    }
    // claims.sensitive-targeting
    for c in action.targeting() {
        if c.about == Subject::Person && sensitive.contains(&c.value.trim().to_ascii_lowercase()) {
            j.escalate = true;
            let mut f = finding(
                SENSITIVE,
                Severity::High,
                format!("Picked by the person's {} \"{}\"", c.attribute, c.value),
                Vec::new(),
            );
            f.citation = Some(SENSITIVE_CITATION.to_string());
            j.findings.push(f);
        }
    }
    // claims.unsubscribe
    if let ActionKind::Email(e) = &action.kind
        && e.purpose == Purpose::Commercial
        && e.unsubscribe.as_deref().unwrap_or("").is_empty()
    {
        let link = match e.sender.unsubscribe.as_deref().map(str::trim) {
            Some(own) if !own.is_empty() => own.to_string(),
            _ => format!("{base}{}", e.to.contact_id),
        };
        let mut f = finding(
            UNSUBSCRIBE,
            Severity::Low,
            "An unsubscribe link was added".to_string(),
            Vec::new(),
        );
        f.citation = Some(UNSUBSCRIBE_CITATION.to_string());
        f.fix = Some(format!("set the unsubscribe mechanism to {link}"));
        j.findings.push(f);
        if let ActionKind::Email(m) = &mut j.changed(action).kind {
            m.unsubscribe = Some(link);
        }
    }

    host::log(
        Level::Debug,
        &format!("claims: {} finding(s) for {}", j.findings.len(), action.id),
    );
    let denied = j
        .findings
        .iter()
        .any(|f| [BANNED, CONSENT, AUDIENCE].contains(&f.rule.as_str()));
    if denied {
        Verdict::Deny(j.findings)
    } else if j.escalate {
        Verdict::Escalate(j.findings)
    } else if let Some(action) = j.changed {
        Verdict::Modify(Modification {
            action,
            findings: j.findings,
        })
    } else {
        Verdict::Allow
    }
}

/// claims.quiet-hours for a commercial message due at `at` in `zone`.
fn quiet_hours(action: &Action, zone: &str, at: Timestamp, j: &mut Judgement) {
    let unknown = |j: &mut Judgement| {
        j.escalate = true;
        let mut f = finding(
            QUIET,
            Severity::Medium,
            format!("No local time for the zone \"{zone}\" at {at}"),
            Vec::new(),
        );
        f.citation = Some(QUIET_CITATION.to_string());
        j.findings.push(f);
    };
    // An instant before 1970 is not asked about: a JavaScript guest cannot
    // pass a negative s64 to a host import (componentize-js 0.23.0 traps).
    if at < 0 {
        return unknown(j);
    }
    let local = match host::to_local(zone, at) {
        Ok(local) => local,
        Err(_) => return unknown(j),
    };
    if WINDOW.contains(&local.hour) {
        return;
    }
    let next = match host::next_local(zone, at, WINDOW.start, 0) {
        Ok(next) => next,
        Err(_) => return unknown(j),
    };
    let day = WEEKDAYS
        .get(usize::from(local.weekday).wrapping_sub(1))
        .copied()
        .unwrap_or("?");
    let mut f = finding(
        QUIET,
        Severity::Medium,
        format!(
            "It would be {:02}:{:02} on {day} (UTC{}) for the recipient",
            local.hour,
            local.minute,
            offset(local.utc_offset_minutes)
        ),
        Vec::new(),
    );
    f.citation = Some(QUIET_CITATION.to_string());
    f.fix = Some(format!("rescheduled to 08:00 {zone} (send-at {next})"));
    j.findings.push(f);
    j.changed(action).reschedule(next);
}

impl Policy for Claims {
    fn describe() -> PackInfo {
        info()
    }

    fn validate(action: Action, ctx: RunContext) -> Verdict {
        judge(&action, &ctx)
    }
}

gatehouse_guest::export_policy!(Claims);

#[cfg(test)]
mod tests;
