//! Native tests of the Rust `claims` pack against the guest SDK's mock
//! host (whose `to-local` / `next-local` answers come from the same code
//! as the host's). The cases every language must answer alike are in
//! `../cases.json`, run by the host (`cargo test --test all conformance`).

use super::*;
use gatehouse_guest::testing::{MockHost, findings, rules};

/// 2026-01-05T10:00:00Z, a Monday: 11:00 in Berlin, 05:00 in New York.
const NOW: Timestamp = 1_767_607_200_000;
/// 2026-03-08T12:00:00Z: 08:00 in New York on the day US summer time starts.
const NY_DST_START_8AM: Timestamp = 1_772_971_200_000;
const MINUTE: Timestamp = 60_000;
const HOUR: Timestamp = 60 * MINUTE;

fn mock() -> MockHost {
    MockHost::new()
        .at(NOW)
        .config("banned-terms", "guaranteed\nrisk-free\n")
        .config("max-budget-ratio", "2")
        .config("unsubscribe-base", "https://acme.example/u/")
        .config("sensitive-values", "health\nreligion\n")
}

fn ctx() -> RunContext {
    RunContext::for_test()
}

fn recipient(zone: &str, kind: ConsentKind, purposes: &[Purpose]) -> Recipient {
    let mut to = Recipient::contact("c-1");
    to.time_zone = zone.to_string();
    to.consent = Consent {
        kind,
        channel: Channel::Email,
        purposes: purposes.to_vec(),
        obtained_at: Some(1_735_689_600_000),
        expires_at: None,
        withdrawn_at: None,
        evidence: Some("form-77".to_string()),
    };
    to
}

fn consenting(zone: &str) -> Recipient {
    recipient(
        zone,
        ConsentKind::Express,
        &[
            Purpose::Commercial,
            Purpose::Transactional,
            Purpose::Relationship,
        ],
    )
}

fn sender() -> Sender {
    let mut s = Sender::unstamped();
    s.profile = "acme".into();
    s.brand = "Acme".into();
    s.unsubscribe = Some("https://acme.example/unsubscribe".into());
    s
}

/// A commercial email with a link, to a consenting recipient in `zone`.
fn email(zone: &str) -> Action {
    let mut a = Action::email(
        "a-1",
        consenting(zone),
        Purpose::Commercial,
        "Spring ideas",
        "Hi Ana",
    );
    if let ActionKind::Email(e) = &mut a.kind {
        e.sender = sender();
        e.unsubscribe = Some("https://acme.example/u/c-1".into());
    }
    a
}

fn email_mut(a: &mut Action) -> &mut Email {
    match &mut a.kind {
        ActionKind::Email(e) => e,
        _ => panic!("not an email"),
    }
}

fn validate(a: Action) -> Verdict {
    Claims::validate(a, ctx())
}

fn modified(v: &Verdict) -> &Action {
    match v {
        Verdict::Modify(m) => &m.action,
        other => panic!("not a modification: {other:?}"),
    }
}

#[test]
fn describes_seven_rules_with_citations_where_law_is_applied() {
    let info = Claims::describe();
    assert_eq!(
        (info.name.as_str(), info.version.as_str()),
        ("claims", "0.2.0")
    );
    let cited: Vec<(&str, Option<&str>)> = info
        .rules
        .iter()
        .map(|r| (r.id.as_str(), r.citation.as_deref()))
        .collect();
    assert_eq!(
        cited,
        [
            (BANNED, None),
            (CONSENT, None),
            (QUIET, Some(QUIET_CITATION)),
            (BUDGET, None),
            (AUDIENCE, None),
            (SENSITIVE, Some(SENSITIVE_CITATION)),
            (UNSUBSCRIBE, Some(UNSUBSCRIBE_CITATION)),
        ]
    );
}

#[test]
fn the_manifest_states_the_rules_as_the_pack_describes_them() {
    let manifest = include_str!("../pack.toml");
    let blocks: Vec<&str> = manifest.split("[[rules]]").skip(1).collect();
    let info = Claims::describe();
    assert_eq!(blocks.len(), info.rules.len());
    for (block, rule) in blocks.iter().zip(&info.rules) {
        let value = |key: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{key} = \"")))
                .map(|v| v.trim_end_matches('"').replace("\\\"", "\""))
        };
        assert_eq!(value("id").as_deref(), Some(rule.id.as_str()));
        assert_eq!(
            value("description").as_deref(),
            Some(rule.description.as_str())
        );
        assert_eq!(value("citation"), rule.citation, "{}", rule.id);
        let severity = match rule.severity {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        };
        assert_eq!(value("severity").as_deref(), Some(severity), "{}", rule.id);
    }
    assert!(manifest.contains("version = \"0.2.0\""));
}

#[test]
fn a_clean_commercial_email_in_the_day_is_allowed_and_the_host_calls_come_in_order() {
    mock().install();
    assert_eq!(validate(email("Europe/Berlin")), Verdict::Allow);
    assert_eq!(
        MockHost::logs(),
        [(Level::Debug, "claims: 0 finding(s) for a-1".to_string())]
    );
}

#[test]
fn banned_terms_are_found_in_utf8_bytes_case_insensitively() {
    mock().install();
    let mut a = email("Europe/Berlin");
    email_mut(&mut a).body = "Schön: GUARANTEED".into();
    let v = validate(a);
    assert_eq!(rules(&v), [BANNED]);
    let span = findings(&v)[0].location.clone().expect("a span");
    assert_eq!(
        (span.start, span.end, span.excerpt.as_str()),
        (8, 18, "GUARANTEED")
    );
    assert!(matches!(v, Verdict::Deny(_)));
}

#[test]
fn consent_must_cover_the_purpose_at_send_time() {
    mock().install();
    // Withdrawn always loses, even with a lawful basis.
    let mut a = email("Europe/Berlin");
    email_mut(&mut a).to = recipient("Europe/Berlin", ConsentKind::Withdrawn, &[]);
    email_mut(&mut a).to.lawful_basis = Some("contract".into());
    let v = validate(a);
    assert_eq!(rules(&v), [CONSENT]);
    assert_eq!(findings(&v)[0].evidence, ["c-1", "form-77"]);

    // Consent for transactional messages does not cover a commercial one.
    let mut a = email("Europe/Berlin");
    email_mut(&mut a).to.consent.purposes = vec![Purpose::Transactional];
    let v = validate(a.clone());
    assert_eq!(
        findings(&v)[0].message,
        "The consent on record does not cover commercial messages"
    );
    // ... unless there is a lawful basis.
    email_mut(&mut a).to.lawful_basis = Some("contract:ev-77".into());
    assert_eq!(validate(a), Verdict::Allow);

    // Implied consent lapses: in force now, lapsed at the send time.
    let mut a = email("Europe/Berlin");
    email_mut(&mut a).to.consent.kind = ConsentKind::Implied;
    email_mut(&mut a).to.consent.expires_at = Some(NOW + HOUR);
    assert_eq!(validate(a.clone()), Verdict::Allow);
    email_mut(&mut a).send_at = Some(NOW + HOUR);
    let v = validate(a);
    assert_eq!(
        findings(&v)[0].message,
        format!("The consent on record lapsed at {}", NOW + HOUR)
    );
}

#[test]
fn commercial_messages_at_night_are_rescheduled_to_8am_local_across_dst() {
    mock().install();
    // 07:59 in New York on the morning US summer time starts.
    let mut a = email("America/New_York");
    email_mut(&mut a).send_at = Some(NY_DST_START_8AM - MINUTE);
    let v = validate(a);
    assert_eq!(rules(&v), [QUIET]);
    let f = findings(&v)[0];
    assert_eq!(
        f.message,
        "It would be 07:59 on Sunday (UTC-04:00) for the recipient"
    );
    assert_eq!(f.citation.as_deref(), Some(QUIET_CITATION));
    assert_eq!(
        f.fix.as_deref(),
        Some("rescheduled to 08:00 America/New_York (send-at 1772971200000)")
    );
    assert_eq!(
        modified(&v).send_time(NOW),
        Some(NY_DST_START_8AM),
        "one minute later"
    );
    // 08:00 is inside the window.
    let mut a = email("America/New_York");
    email_mut(&mut a).send_at = Some(NY_DST_START_8AM);
    assert_eq!(validate(a), Verdict::Allow);
}

#[test]
fn half_hour_and_quarter_hour_offsets_are_written_out() {
    mock().install();
    // 05:45 in Kathmandu (UTC+05:45) and 06:30 in St. John's (UTC-03:30).
    let v = validate(email("Asia/Kathmandu").tap_send_at(NOW - 10 * HOUR));
    assert!(findings(&v)[0].message.contains("(UTC+05:45)"), "{v:?}");
    let v = validate(email("America/St_Johns"));
    assert!(
        findings(&v)[0]
            .message
            .contains("06:30 on Monday (UTC-03:30)"),
        "{v:?}"
    );
}

#[test]
fn transactional_and_relationship_messages_go_out_at_night() {
    mock().install();
    let mut a = email("America/New_York");
    email_mut(&mut a).purpose = Purpose::Transactional;
    email_mut(&mut a).unsubscribe = None;
    assert_eq!(validate(a), Verdict::Allow, "no window, no link needed");
}

#[test]
fn an_unknown_zone_or_instant_goes_to_a_human() {
    mock().install();
    let v = validate(email("Mars/Olympus_Mons"));
    assert!(matches!(v, Verdict::Escalate(_)), "{v:?}");
    assert_eq!(
        findings(&v)[0].message,
        format!("No local time for the zone \"Mars/Olympus_Mons\" at {NOW}")
    );
    let v = validate(email("Europe/Berlin").tap_send_at(i64::MAX));
    assert_eq!(rules(&v), [QUIET]);
    assert!(matches!(v, Verdict::Escalate(_)));
    // Before 1970 the host is not asked (a JavaScript guest could not ask).
    let v = validate(email("Etc/UTC").tap_send_at(-HOUR));
    assert_eq!(
        findings(&v)[0].message,
        "No local time for the zone \"Etc/UTC\" at -3600000"
    );
}

#[test]
fn sensitive_values_about_the_person_escalate_never_about_the_organisation() {
    mock().install();
    let mut a = email("Europe/Berlin");
    email_mut(&mut a).targeting = vec![
        Criterion::organisation("industry", "health"),
        Criterion::person("interest", " Health "),
    ];
    let v = validate(a);
    assert!(matches!(v, Verdict::Escalate(_)), "{v:?}");
    assert_eq!(rules(&v), [SENSITIVE]);
    assert_eq!(
        findings(&v)[0].message,
        "Picked by the person's interest \" Health \""
    );
    let mut a = email("Europe/Berlin");
    email_mut(&mut a).targeting = vec![Criterion::organisation("industry", "health")];
    assert_eq!(validate(a), Verdict::Allow);
}

#[test]
fn a_missing_link_gets_the_senders_else_the_configured_one() {
    mock().install();
    let mut a = email("Europe/Berlin");
    email_mut(&mut a).unsubscribe = Some(String::new());
    let v = validate(a.clone());
    let changed = modified(&v).as_email().expect("an email");
    assert_eq!(
        changed.unsubscribe.as_deref(),
        Some("https://acme.example/unsubscribe")
    );
    assert_eq!(
        findings(&v)[0].fix.as_deref(),
        Some("set the unsubscribe mechanism to https://acme.example/unsubscribe")
    );
    email_mut(&mut a).sender.unsubscribe = Some("  ".into());
    let v = validate(a);
    assert_eq!(
        modified(&v)
            .as_email()
            .and_then(|e| e.unsubscribe.as_deref()),
        Some("https://acme.example/u/c-1")
    );
}

#[test]
fn both_edits_apply_to_one_copy_and_a_deny_keeps_every_finding() {
    mock().install();
    let mut a = email("Europe/Berlin");
    email_mut(&mut a).unsubscribe = None;
    email_mut(&mut a).send_at = Some(NOW + 12 * HOUR); // 23:00 Berlin
    let v = validate(a.clone());
    assert_eq!(rules(&v), [QUIET, UNSUBSCRIBE]);
    let changed = modified(&v).as_email().expect("an email");
    assert_eq!(changed.send_at, Some(NOW + 21 * HOUR)); // 08:00 the next day
    assert!(changed.unsubscribe.is_some());

    email_mut(&mut a).subject = "Risk-free".into();
    let v = validate(a);
    assert!(matches!(v, Verdict::Deny(_)));
    assert_eq!(rules(&v), [BANNED, QUIET, UNSUBSCRIBE]);
}

#[test]
fn budgets_compare_without_overflow_and_exports_stay_home() {
    mock().install();
    let budget = |current, proposed| {
        Action::new(
            "a-1",
            ActionKind::AdBudget(AdBudgetChange {
                platform: "google-ads".into(),
                campaign_id: "cmp-1".into(),
                currency: "USD".into(),
                current_daily_micros: current,
                proposed_daily_micros: proposed,
                ad_copy: None,
            }),
        )
    };
    assert_eq!(validate(budget(i64::MAX - 1, i64::MAX)), Verdict::Allow);
    assert_eq!(rules(&validate(budget(-1, 0))), [BUDGET]);
    let export = |region: &str| {
        let mut a = Action::new(
            "a-1",
            ActionKind::Audience(AudienceUpdate {
                platform: "meta-ads".into(),
                platform_region: region.into(),
                audience_id: "aud-1".into(),
                operation: AudienceOperation::Export,
                contact_ids: vec!["c-1".into()],
                fields: vec!["email".into()],
                targeting: vec![Criterion::person("belief", "religion")],
            }),
        );
        a.region = "EU".into();
        a
    };
    assert_eq!(rules(&validate(export("US"))), [AUDIENCE, SENSITIVE]);
    assert!(matches!(validate(export("EU")), Verdict::Escalate(_)));
}

/// Test helper: set a message's `send-at`.
trait TapSendAt {
    fn tap_send_at(self, at: Timestamp) -> Self;
}

impl TapSendAt for Action {
    fn tap_send_at(mut self, at: Timestamp) -> Self {
        self.reschedule(at);
        self
    }
}
