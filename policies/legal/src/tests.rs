//! Unit tests: the jurisdiction matrix, the DST edges of quiet hours, and
//! each kind of fix. The labelled cases are in `cases.json`.

use super::*;
use gatehouse_guest::testing::{MockHost, rules};

fn sender() -> Sender {
    Sender {
        profile: "acme".into(),
        brand: "Acme".into(),
        legal_name: "Acme Inc.".into(),
        from_name: "Acme Marketing".into(),
        from_address: "news@acme.example".into(),
        sms_sender_id: "ACME".into(),
        postal_address: Some("Acme Inc., 100 Main St, Springfield, IL 62701, USA".into()),
        contact: Some("https://acme.example/contact".into()),
        unsubscribe: Some("https://acme.example/unsubscribe".into()),
        sms_opt_out: Some("Reply STOP to opt out.".into()),
        disclosures: Vec::new(),
        regimes: Vec::new(),
    }
}

fn to(country: &str, zone: &str, kind: ConsentKind, channel: Channel) -> Recipient {
    Recipient {
        country: country.into(),
        time_zone: zone.into(),
        consent: Consent {
            kind,
            channel,
            purposes: vec![Purpose::Commercial, Purpose::Transactional],
            obtained_at: Some(1_735_689_600_000),
            expires_at: None,
            withdrawn_at: None,
            evidence: Some("form-1".into()),
        },
        first_contact: false,
        ..Recipient::contact("c-1")
    }
}

/// A compliant commercial email to `country`.
fn email(country: &str, zone: &str) -> Action {
    let mut a = Action::email(
        "a-1",
        to(country, zone, ConsentKind::Express, Channel::Email),
        Purpose::Commercial,
        "Spring ideas",
        "Hi Ada,\n\nOur spring catalogue is out.\n\nAcme Inc., 100 Main St, Springfield, IL \
         62701, USA. Contact: https://acme.example/contact",
    );
    if let ActionKind::Email(e) = &mut a.kind {
        e.sender = sender();
        e.unsubscribe = Some("https://acme.example/u/c-1".into());
        e.postal_address = Some("Acme Inc., 100 Main St, Springfield, IL 62701, USA".into());
    }
    a
}

/// A compliant marketing text to `country`, sent at `send_at`.
fn sms(country: &str, zone: &str, send_at: i64) -> Action {
    let mut a = Action::sms(
        "s-1",
        to(country, zone, ConsentKind::ExpressWritten, Channel::Sms),
        Purpose::Commercial,
        "Acme: spring fares are live. Acme Inc., 100 Main St, Springfield, IL 62701, USA. \
         Contact: https://acme.example/contact Reply STOP to opt out.",
    );
    a.reschedule(send_at);
    if let ActionKind::Sms(s) = &mut a.kind {
        s.sender = sender();
    }
    a
}

/// Judge `action`, and check what every verdict of the pack must hold:
/// each finding cites its rule's statute, and each finding of a
/// modification says what the edit was.
fn judge(action: Action) -> Verdict {
    MockHost::new().install();
    let v = Legal::validate(action, RunContext::for_test());
    for f in gatehouse_guest::testing::findings(&v) {
        let rule = rules::ALL.iter().find(|r| r.id == f.rule).unwrap();
        assert_eq!(f.citation.as_deref(), Some(rule.citation), "{}", f.rule);
        assert_eq!(f.severity, rule.severity, "{}", f.rule);
        if matches!(v, Verdict::Modify(_)) {
            assert!(f.fix.as_deref().is_some_and(|x| !x.is_empty()), "{f:?}");
        }
    }
    v
}

/// `pack.toml` lists the rules `describe` gives, in order, with the same
/// citations.
#[test]
fn the_manifest_lists_every_rule_with_its_citation() {
    let manifest = include_str!("../pack.toml");
    let value = |key: &str| -> Vec<String> {
        manifest
            .lines()
            .filter_map(|l| l.strip_prefix(key))
            .filter_map(|l| l.trim().strip_prefix('='))
            .map(|v| v.trim().trim_matches('"').to_string())
            .collect()
    };
    let ids: Vec<&str> = rules::ALL.iter().map(|r| r.id).collect();
    let citations: Vec<&str> = rules::ALL.iter().map(|r| r.citation).collect();
    assert_eq!(value("id "), ids);
    assert_eq!(value("citation "), citations);
    let info = Legal::describe();
    assert_eq!(info.version, PACK_VERSION);
    assert!(info.rules.iter().all(|r| r.citation.is_some()));
}

#[test]
fn the_jurisdiction_table_parses_and_names_every_regime() {
    let rows = jurisdiction::rows(jurisdiction::TABLE).unwrap();
    assert!(rows.len() >= 33);
    for (country, regimes) in &rows {
        assert!(!regimes.is_empty(), "{country}");
    }
    assert!(jurisdiction::rows("country,regimes\nUS,martian-law\n").is_err());
    assert!(jurisdiction::rows("country,regimes\nUSA,can-spam\n").is_err());
}

/// The EU and EEA member states, written out here apart from the table.
const EU_EEA: &[&str] = &[
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
];

/// The rules a commercial email with no consent on record (otherwise
/// compliant) fires for a recipient in `country`, as the law says.
fn expected_for(country: &str) -> &'static [&'static str] {
    match country {
        // CAN-SPAM is opt-out: no prior consent needed for email.
        "US" => &[],
        "CA" => &["legal.casl.consent"],
        "GB" => &["legal.uk-gdpr.lawful-basis", "legal.pecr.consent"],
        c if EU_EEA.contains(&c) => &["legal.gdpr.lawful-basis", "legal.eprivacy.consent"],
        _ => &[],
    }
}

/// The matrix: every row of the table (and a country without one) against
/// the rule set the law expects of an unconsented commercial email; the
/// table lists exactly the countries the matrix expects a regime for.
#[test]
fn jurisdiction_matrix() {
    let rows = jurisdiction::rows(jurisdiction::TABLE).unwrap();
    let mut countries: Vec<&str> = rows.iter().map(|(c, _)| c.as_str()).collect();
    let mut expected: Vec<&str> = ["US", "CA", "GB"].iter().chain(EU_EEA).copied().collect();
    countries.sort_unstable();
    expected.sort_unstable();
    assert_eq!(countries, expected);
    for country in countries.iter().copied().chain(["JP", "AU", "CH"]) {
        let mut a = email(country, "Europe/Berlin");
        if let ActionKind::Email(e) = &mut a.kind {
            e.to.consent.kind = ConsentKind::None;
        }
        let v = judge(a);
        let mut got = rules(&v);
        got.dedup();
        assert_eq!(got, expected_for(country), "{country}");
    }
}

#[test]
fn a_sender_regime_applies_everywhere_and_an_unknown_one_fails_closed() {
    let mut a = email("DE", "Europe/Berlin");
    if let ActionKind::Email(e) = &mut a.kind {
        e.postal_address = None;
        e.sender.regimes = vec!["can-spam".into()];
    }
    assert_eq!(rules(&judge(a.clone())), ["legal.can-spam.postal-address"]);
    if let ActionKind::Email(e) = &mut a.kind {
        e.sender.regimes = vec!["martian-law".into()];
    }
    let v = judge(a);
    assert!(matches!(v, Verdict::Deny(_)));
    assert_eq!(rules(&v), ["legal.jurisdiction"]);
}

fn utc(text: &str) -> i64 {
    gatehouse_zone::parse_instant(text).unwrap()
}

/// Quiet-hour boundaries on the DST switch days of 2026 and 2027, US and
/// EU: 07:59 and 21:00 local are rescheduled to the next 08:00 local; 08:00
/// and 20:59 go. The EU days reach the TCPA through a sender profile that
/// adds it (a German recipient in Europe/Berlin).
#[test]
fn quiet_hours_follow_the_recipients_clock_across_dst() {
    // (country, zone, local date, UTC offset that day after 03:00)
    let days: &[(&str, &str, &str, i64)] = &[
        ("US", "America/New_York", "2026-03-08", -4),
        ("US", "America/New_York", "2026-11-01", -5),
        ("US", "America/New_York", "2027-03-14", -4),
        ("US", "America/New_York", "2027-11-07", -5),
        ("US", "America/Los_Angeles", "2026-03-08", -7),
        ("DE", "Europe/Berlin", "2026-03-29", 2),
        ("DE", "Europe/Berlin", "2026-10-25", 1),
        ("DE", "Europe/Berlin", "2027-03-28", 2),
        ("DE", "Europe/Berlin", "2027-10-31", 1),
    ];
    for &(country, zone, day, offset) in days {
        let at = |hh: i64, mm: i64| {
            utc(&format!("{day}T00:00:00Z")) + ((hh - offset) * 60 + mm) * 60_000
        };
        for (hh, mm, goes) in [(7, 59, false), (8, 0, true), (20, 59, true), (21, 0, false)] {
            let mut a = sms(country, zone, at(hh, mm));
            if let ActionKind::Sms(s) = &mut a.kind {
                s.sender.regimes = vec!["tcpa".into()];
            }
            let v = judge(a);
            if goes {
                assert_eq!(v, Verdict::Allow, "{zone} {day} {hh:02}:{mm:02}");
                continue;
            }
            let Verdict::Modify(m) = &v else {
                panic!("{zone} {day} {hh:02}:{mm:02}: {v:?}");
            };
            assert_eq!(rules(&v), ["legal.tcpa.quiet-hours"]);
            let next = m.action.send_time(0).unwrap();
            let local = host::to_local(zone, next).unwrap();
            assert_eq!((local.hour, local.minute), (8, 0), "{zone} {day}");
            assert!(next > at(hh, mm));
            let fix = v_fix(&v);
            assert!(fix.contains("08:00"), "{fix}");
        }
    }
}

fn v_fix(v: &Verdict) -> String {
    gatehouse_guest::testing::findings(v)[0]
        .fix
        .clone()
        .unwrap_or_default()
}

#[test]
fn missing_footer_items_are_appended_from_the_profile() {
    let mut a = email("US", "America/Chicago");
    if let ActionKind::Email(e) = &mut a.kind {
        e.unsubscribe = Some("http://acme.example/u".into());
        e.postal_address = None;
    }
    let v = judge(a);
    assert_eq!(
        rules(&v),
        ["legal.can-spam.opt-out", "legal.can-spam.postal-address"]
    );
    let Verdict::Modify(m) = &v else {
        panic!("{v:?}")
    };
    let ActionKind::Email(e) = &m.action.kind else {
        panic!()
    };
    assert_eq!(
        e.unsubscribe.as_deref(),
        Some("https://acme.example/unsubscribe")
    );
    assert!(
        e.body
            .contains("unsubscribe: https://acme.example/unsubscribe")
    );
    // Without the ingredient, the same breach is a deny that names it.
    let mut a = email("US", "America/Chicago");
    if let ActionKind::Email(e) = &mut a.kind {
        e.postal_address = None;
        e.sender.postal_address = None;
    }
    let v = judge(a);
    assert!(matches!(v, Verdict::Deny(_)));
    assert!(v_fix(&v).contains("postal-address"));
}

#[test]
fn a_mailto_opt_out_is_valid() {
    let mut a = email("CA", "America/Toronto");
    if let ActionKind::Email(e) = &mut a.kind {
        e.unsubscribe = Some("mailto:optout@acme.example".into());
    }
    assert_eq!(judge(a), Verdict::Allow);
}

#[test]
fn casl_implied_consent_lapses() {
    let send = RunContext::for_test().now;
    let mut a = email("CA", "America/Toronto");
    if let ActionKind::Email(e) = &mut a.kind {
        e.to.consent.kind = ConsentKind::Implied;
        e.to.consent.expires_at = Some(send + 1);
    }
    assert_eq!(judge(a.clone()), Verdict::Allow);
    if let ActionKind::Email(e) = &mut a.kind {
        e.to.consent.expires_at = Some(send - 1);
    }
    assert_eq!(rules(&judge(a.clone())), ["legal.casl.consent"]);
    // A purchase 23 months ago still implies consent; 25 months ago does not.
    if let ActionKind::Email(e) = &mut a.kind {
        e.to.consent.expires_at = None;
        e.to.relationship.last_purchase_at = Some(send - 700 * 86_400_000);
    }
    assert_eq!(judge(a.clone()), Verdict::Allow);
    if let ActionKind::Email(e) = &mut a.kind {
        e.to.relationship.last_purchase_at = Some(send - 760 * 86_400_000);
    }
    assert_eq!(rules(&judge(a)), ["legal.casl.consent"]);
}

#[test]
fn soft_opt_in_needs_a_purchase() {
    let mut a = email("GB", "Europe/London");
    if let ActionKind::Email(e) = &mut a.kind {
        e.to.consent.kind = ConsentKind::SoftOptIn;
        e.to.relationship.last_purchase_at = Some(1_760_000_000_000);
    }
    assert_eq!(judge(a.clone()), Verdict::Allow);
    if let ActionKind::Email(e) = &mut a.kind {
        e.to.relationship.last_purchase_at = None;
    }
    assert_eq!(rules(&judge(a)), ["legal.pecr.consent"]);
}

#[test]
fn withdrawn_consent_stops_marketing_but_not_a_receipt() {
    let mut a = email("FR", "Europe/Paris");
    if let ActionKind::Email(e) = &mut a.kind {
        e.to.consent.kind = ConsentKind::Withdrawn;
        e.to.lawful_basis = Some("contract".into());
    }
    a.evidence = vec!["c-1".into()];
    let v = judge(a.clone());
    assert!(rules(&v).contains(&"legal.gdpr.withdrawn"), "{v:?}");
    if let ActionKind::Email(e) = &mut a.kind {
        e.purpose = Purpose::Transactional;
    }
    assert_eq!(judge(a), Verdict::Allow);
}

#[test]
fn deceptive_subjects_are_denied_with_their_span() {
    let mut a = email("US", "America/New_York");
    if let ActionKind::Email(e) = &mut a.kind {
        e.subject = "Quick question re: your demo".into();
        e.to.first_contact = true;
    }
    let v = judge(a);
    assert!(matches!(v, Verdict::Deny(_)));
    let f = &gatehouse_guest::testing::findings(&v)[0];
    assert_eq!(f.rule, "legal.can-spam.deceptive-subject");
    let span = f.location.as_ref().unwrap();
    assert_eq!(
        (span.start, span.end, span.excerpt.as_str()),
        (15, 18, "re:")
    );
    assert_eq!(f.citation.as_deref(), Some("15 U.S.C. 7704(a)(2)"));
}

#[test]
fn a_text_is_fixed_not_dropped() {
    let noon = utc("2026-06-01T16:00:00Z");
    let mut a = sms("US", "America/New_York", noon);
    if let ActionKind::Sms(s) = &mut a.kind {
        s.body = "Spring fares are live.".into();
    }
    let v = judge(a);
    assert_eq!(rules(&v), ["legal.tcpa.sender-id", "legal.tcpa.opt-out"]);
    let Verdict::Modify(m) = &v else {
        panic!("{v:?}")
    };
    let ActionKind::Sms(s) = &m.action.kind else {
        panic!()
    };
    assert_eq!(
        s.body,
        "Acme: Spring fares are live. Reply STOP to opt out."
    );
}

/// The README's "Which law applies" table shows the jurisdiction table as
/// it is: every country with exactly its regimes.
#[test]
fn the_readme_shows_the_jurisdiction_table() {
    let readme = include_str!("../../../README.md");
    let section = readme
        .split("## Which law applies")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("README has the section");
    for (country, regimes) in jurisdiction::rows(jurisdiction::TABLE).unwrap() {
        let line = section
            .lines()
            .find(|l| {
                l.starts_with('|')
                    && l.split('|')
                        .nth(1)
                        .is_some_and(|c| c.split(", ").any(|x| x.trim() == country))
            })
            .unwrap_or_else(|| panic!("{country} is not in the README table"));
        let listed = line.split('|').nth(2).unwrap().trim();
        assert_eq!(listed, regimes.join(", "), "{country}");
    }
    for rule in rules::ALL {
        assert!(
            section.contains(&format!("`{}` | {} |", rule.id, rule.citation)),
            "{} is not in the README with its statute",
            rule.id
        );
    }
}

/// Quiet hours and naming the business bind marketing texts; a delivery
/// notice at 22:00 goes as written (it still tells how to opt out).
#[test]
fn a_transactional_text_is_not_a_solicitation() {
    let late = utc("2026-06-02T02:00:00Z"); // 22:00 in New York
    let mut a = sms("US", "America/New_York", late);
    if let ActionKind::Sms(s) = &mut a.kind {
        s.purpose = Purpose::Transactional;
        s.body = "Your order 1182 ships tomorrow. Reply STOP to opt out.".into();
    }
    assert_eq!(judge(a.clone()), Verdict::Allow);
    if let ActionKind::Sms(s) = &mut a.kind {
        s.purpose = Purpose::Commercial;
    }
    assert_eq!(
        rules(&judge(a)),
        ["legal.tcpa.quiet-hours", "legal.tcpa.sender-id"]
    );
}

/// A withdrawal is named with its date.
#[test]
fn a_withdrawal_is_named_with_its_date() {
    let mut a = sms("US", "America/New_York", utc("2026-06-01T16:00:00Z"));
    if let ActionKind::Sms(s) = &mut a.kind {
        s.to.consent.kind = ConsentKind::Withdrawn;
        s.to.consent.withdrawn_at = Some(utc("2025-12-01T09:30:00Z"));
    }
    let v = judge(a);
    assert_eq!(rules(&v), ["legal.tcpa.consent"]);
    let f = &gatehouse_guest::testing::findings(&v)[0];
    assert!(
        f.message.contains("withdrew consent on 2025-12-01"),
        "{}",
        f.message
    );
}

/// CAN-SPAM's header rule covers a receipt too; the ePrivacy Directive
/// denies a message whose profile conceals the sender.
#[test]
fn a_concealed_sender_is_denied() {
    let mut a = email("US", "America/Chicago");
    if let ActionKind::Email(e) = &mut a.kind {
        e.purpose = Purpose::Transactional;
        e.sender.from_address = "news@localhost".into();
    }
    assert_eq!(rules(&judge(a)), ["legal.can-spam.header"]);
    let mut a = email("DE", "Europe/Berlin");
    if let ActionKind::Email(e) = &mut a.kind {
        e.sender.from_address = String::new();
    }
    let v = judge(a);
    assert!(matches!(v, Verdict::Deny(_)));
    assert_eq!(rules(&v), ["legal.eprivacy.identity"]);
    let f = &gatehouse_guest::testing::findings(&v)[0];
    assert_eq!(
        f.location.as_ref().map(|l| l.field.as_str()),
        Some("sender.from-address")
    );
}
