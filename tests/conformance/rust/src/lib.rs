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
const UNSUBSCRIBE: &str = "claims.unsubscribe";

/// The pack's description (also used by the host-side tests).
pub fn info() -> PackInfo {
    PackInfo::new("claims", "0.1.0")
        .rule(
            BANNED,
            Severity::High,
            "Texts carry no banned term (config `banned-terms`, ASCII case-insensitive).",
        )
        .rule(
            CONSENT,
            Severity::Critical,
            "Emails and texts go only to recipients with consent or a lawful basis.",
        )
        .rule(
            QUIET,
            Severity::Medium,
            "Emails and texts sent between 21:00 and 08:00 recipient time go to a human.",
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
        .rule(
            UNSUBSCRIBE,
            Severity::Low,
            "Commercial emails carry an unsubscribe link; one is added when missing.",
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

/// The texts of an action that the banned-term rule reads, in order.
fn texts(action: &Action) -> Vec<(&'static str, &str)> {
    match &action.kind {
        ActionKind::Email(e) => vec![("subject", e.subject.as_str()), ("body", e.body.as_str())],
        ActionKind::Sms(s) => vec![("body", s.body.as_str())],
        ActionKind::AdBudget(b) => b.ad_copy.iter().map(|c| ("ad-copy", c.as_str())).collect(),
        _ => Vec::new(),
    }
}

fn judge(action: &Action, ctx: &RunContext) -> Verdict {
    let terms: Vec<String> = host::config("banned-terms")
        .unwrap_or_default()
        .lines()
        .map(|l| l.trim().to_ascii_lowercase())
        .filter(|l| !l.is_empty())
        .collect();
    let ratio: i128 = host::config("max-budget-ratio")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(2);
    let base = host::config("unsubscribe-base").unwrap_or_default();

    let mut findings = Vec::new();
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
                findings.push(f);
            }
        }
    }
    let recipient = match &action.kind {
        ActionKind::Email(e) => Some(&e.to),
        ActionKind::Sms(s) => Some(&s.to),
        _ => None,
    };
    // claims.consent
    if let Some(to) = recipient {
        let message = match (to.consent.kind, &to.lawful_basis) {
            (ConsentKind::Withdrawn, _) => Some("The recipient opted out of this channel"),
            (ConsentKind::None, None) => Some("No consent or lawful basis on record"),
            _ => None,
        };
        if let Some(m) = message {
            findings.push(finding(
                CONSENT,
                Severity::Critical,
                m.to_string(),
                vec![to.contact_id.clone()],
            ));
        }
    }
    // claims.quiet-hours: the recipient's wall clock when the message goes
    // out, from the host (IANA zone, daylight saving time included).
    if let (Some(to), Some(at)) = (recipient, action.send_time(ctx.now)) {
        match host::to_local(&to.time_zone, at) {
            Ok(local) if !(8..21).contains(&local.hour) => findings.push(finding(
                QUIET,
                Severity::Medium,
                format!(
                    "It is {:02}:{:02} for the recipient",
                    local.hour, local.minute
                ),
                Vec::new(),
            )),
            Ok(_) => {}
            Err(_) => findings.push(finding(
                QUIET,
                Severity::Medium,
                format!("No local time for the zone \"{}\"", to.time_zone),
                Vec::new(),
            )),
        }
    }
    // claims.budget-jump
    if let ActionKind::AdBudget(b) = &action.kind
        && b.proposed_daily_micros as i128 > b.current_daily_micros as i128 * ratio
    {
        findings.push(finding(
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
        findings.push(finding(
            AUDIENCE,
            Severity::High,
            format!(
                "Exports contacts of {} to a platform in {}",
                action.region, a.platform_region
            ),
            Vec::new(),
        ));
    }
    // claims.unsubscribe
    let mut modified = None;
    if let ActionKind::Email(e) = &action.kind
        && e.purpose == Purpose::Commercial
        && e.unsubscribe.as_deref().unwrap_or("").is_empty()
    {
        let mut changed = action.clone();
        if let ActionKind::Email(m) = &mut changed.kind {
            m.unsubscribe = Some(format!("{base}{}", e.to.contact_id));
        }
        modified = Some(changed);
        findings.push(finding(
            UNSUBSCRIBE,
            Severity::Low,
            "An unsubscribe link was added".to_string(),
            Vec::new(),
        ));
    }

    host::log(
        Level::Debug,
        &format!("claims: {} finding(s) for {}", findings.len(), action.id),
    );
    let fired = |ids: &[&str]| findings.iter().any(|f| ids.contains(&f.rule.as_str()));
    if fired(&[BANNED, CONSENT, AUDIENCE]) {
        Verdict::Deny(findings)
    } else if fired(&[QUIET, BUDGET]) {
        Verdict::Escalate(findings)
    } else if let Some(action) = modified {
        Verdict::Modify(Modification { action, findings })
    } else {
        Verdict::Allow
    }
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
