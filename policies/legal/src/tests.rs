//! Native unit tests: rule semantics, spans, evidence and helpers. The
//! data-driven cases (`cases.json`) are checked by `tests/cases.rs`.

use super::*;
use gatehouse_guest::testing::{MockHost, findings, rules};

/// 2026-01-05T10:00:00Z, as in `RunContext::for_test`.
const NOW: Timestamp = 1_767_607_200_000;

fn recipient(id: &str, region: &str, country: &str, consent: Consent) -> Recipient {
    Recipient {
        address: format!("{id}@example.org"),
        region: region.to_string(),
        country: country.to_string(),
        consent,
        first_contact: false,
        ..Recipient::contact(id)
    }
}

/// A compliant commercial email to `to`.
fn email_to(to: Recipient) -> Action {
    let mut action = Action::email("a-1", to, "Spring ideas", "Hi Ada,\n\nOur spring guide.");
    if let Some(e) = action.email_mut() {
        e.from_name = "Acme Marketing".to_string();
        e.from_address = "news@acme.example".to_string();
        e.unsubscribe_url = Some("https://acme.example/u/c-1".to_string());
        e.postal_address = Some("Acme Inc., 100 Main St, Springfield".to_string());
    }
    action
}

fn us_email() -> Action {
    email_to(recipient("c-1", "US", "US", Consent::Granted))
}

fn sms_to(to: Recipient, body: &str) -> Action {
    Action::sms("s-1", to, "ACME", body)
}

fn validate(action: Action) -> Verdict {
    Legal::validate(action, RunContext::for_test())
}

fn validate_at(action: Action, now: Timestamp) -> Verdict {
    let ctx = RunContext {
        now,
        ..RunContext::for_test()
    };
    Legal::validate(action, ctx)
}

fn span(f: &Finding) -> (&str, u32, u32, &str) {
    let s = f.location.as_ref().expect("every finding has a location");
    (s.field.as_str(), s.start, s.end, s.excerpt.as_str())
}

fn change(mut action: Action, f: impl FnOnce(&mut Email)) -> Action {
    if let Some(e) = action.email_mut() {
        f(e);
    }
    action
}

#[test]
fn describes_every_rule_in_manifest_order() {
    let info = Legal::describe();
    assert_eq!(
        (info.name.as_str(), info.version.as_str()),
        ("legal", "0.1.0")
    );
    let ids: Vec<&str> = info.rules.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            CAN_SPAM_UNSUBSCRIBE,
            CAN_SPAM_POSTAL_ADDRESS,
            CAN_SPAM_SENDER_ID,
            CAN_SPAM_DECEPTIVE_SUBJECT,
            CAN_SPAM_AD_DISCLOSURE,
            GDPR_CONSENT,
            TCPA_CONSENT,
            TCPA_QUIET_HOURS,
            TCPA_OPT_OUT,
            CASL_CONSENT,
            CASL_SENDER_ID,
            CASL_UNSUBSCRIBE,
        ]
    );
    // Every rule blocks: high or critical.
    assert!(info.rules.iter().all(|r| r.severity >= Severity::High));
}

#[test]
fn compliant_email_is_allowed() {
    MockHost::new().install();
    assert_eq!(validate(us_email()), Verdict::Allow);
}

#[test]
fn missing_unsubscribe_points_at_the_field() {
    MockHost::new().install();
    let verdict = validate(change(us_email(), |e| e.unsubscribe_url = None));
    assert!(matches!(verdict, Verdict::Deny(_)));
    let f = findings(&verdict);
    assert_eq!(rules(&verdict), [CAN_SPAM_UNSUBSCRIBE]);
    assert_eq!(f[0].severity, Severity::Critical);
    assert_eq!(span(f[0]), ("unsubscribe-url", 0, 0, ""));
    assert!(f[0].message.contains("CAN-SPAM"), "{}", f[0].message);
}

#[test]
fn unsubscribe_must_be_a_web_link() {
    MockHost::new().install();
    for bad in [
        "mailto:unsub@acme.example",
        "acme.example/u/1",
        "https://",
        "https:// acme.example/u",
        "ftp://acme.example/u",
        "  ",
    ] {
        let verdict = validate(change(us_email(), |e| {
            e.unsubscribe_url = Some(bad.to_string());
        }));
        assert_eq!(rules(&verdict), [CAN_SPAM_UNSUBSCRIBE], "{bad:?}");
        assert_eq!(
            span(findings(&verdict)[0]),
            ("unsubscribe-url", 0, bad.len() as u32, bad)
        );
    }
    for good in [
        "https://acme.example/u/c-1?t=abc",
        "HTTP://acme.example",
        "https://acme.example:8443/u",
    ] {
        let action = change(us_email(), |e| e.unsubscribe_url = Some(good.to_string()));
        assert_eq!(validate(action), Verdict::Allow, "{good:?}");
    }
}

#[test]
fn transactional_email_is_not_can_spam() {
    MockHost::new().install();
    let action = change(us_email(), |e| {
        e.commercial = false;
        e.unsubscribe_url = None;
        e.postal_address = None;
        e.from_name.clear();
        e.subject = "RE: your invoice".to_string();
        e.to.first_contact = true;
    });
    assert_eq!(validate(action), Verdict::Allow);
}

#[test]
fn postal_address_is_required() {
    MockHost::new().install();
    for postal in [None, Some(""), Some("  \n")] {
        let verdict = validate(change(us_email(), |e| {
            e.postal_address = postal.map(str::to_string);
        }));
        assert_eq!(rules(&verdict), [CAN_SPAM_POSTAL_ADDRESS], "{postal:?}");
        assert_eq!(span(findings(&verdict)[0]).0, "postal-address");
    }
}

#[test]
fn sender_identification_one_finding_per_field() {
    MockHost::new().install();
    let verdict = validate(change(us_email(), |e| {
        e.from_name = " ".to_string();
        e.from_address = "news-at-acme".to_string();
    }));
    assert_eq!(rules(&verdict), [CAN_SPAM_SENDER_ID, CAN_SPAM_SENDER_ID]);
    let f = findings(&verdict);
    assert_eq!(span(f[0]), ("from-name", 0, 1, " "));
    assert_eq!(span(f[1]), ("from-address", 0, 12, "news-at-acme"));
}

#[test]
fn plausible_email_addresses() {
    for good in ["news@acme.example", "a.b+tag@mail.acme.co.uk", "x@y.io"] {
        assert!(is_plausible_email(good), "{good}");
    }
    for bad in [
        "",
        "news",
        "news@",
        "@acme.example",
        "news@acme",
        "news@@acme.example",
        "news@acme..example",
        "new s@acme.example",
        ".news@acme.example",
        "news@acme.example1",
        "news@-acme.example",
    ] {
        assert!(!is_plausible_email(bad), "{bad}");
    }
}

#[test]
fn thread_prefix_on_first_contact_is_deceptive() {
    MockHost::new().install();
    for (subject, excerpt) in [
        ("RE: our call", "RE:"),
        ("  re : our call", "re :"),
        ("Fwd: pricing", "Fwd:"),
        ("FW: pricing", "FW:"),
    ] {
        let verdict = validate(change(us_email(), |e| {
            e.subject = subject.to_string();
            e.to.first_contact = true;
        }));
        assert_eq!(rules(&verdict), [CAN_SPAM_DECEPTIVE_SUBJECT], "{subject:?}");
        let (field, start, _, found) = span(findings(&verdict)[0]);
        assert_eq!((field, found), ("subject", excerpt));
        assert_eq!(&subject[start as usize..][..excerpt.len()], excerpt);
    }
}

#[test]
fn look_alikes_and_replies_are_not_deceptive() {
    MockHost::new().install();
    for subject in [
        "Re-engage with Acme",
        "Reading list",
        "Fwding soon",
        "Free",
        "Ré: x",
    ] {
        let action = change(us_email(), |e| {
            e.subject = subject.to_string();
            e.to.first_contact = true;
        });
        assert_eq!(validate(action), Verdict::Allow, "{subject:?}");
    }
    let reply = change(us_email(), |e| e.subject = "Re: our call".to_string());
    assert_eq!(validate(reply), Verdict::Allow);
}

#[test]
fn ad_disclosure_only_when_configured() {
    MockHost::new().install();
    assert_eq!(validate(us_email()), Verdict::Allow);

    MockHost::new()
        .config("ad-disclosure-required", "true")
        .config("ad-disclosure", "Advertisement")
        .install();
    let verdict = validate(us_email());
    assert_eq!(rules(&verdict), [CAN_SPAM_AD_DISCLOSURE]);
    let body_len = us_email().as_email().expect("email").body.len() as u32;
    assert_eq!(
        span(findings(&verdict)[0]),
        ("body", body_len, body_len, "")
    );

    for body in [
        "Advertisement\n\nHi Ada.",
        "Hi Ada.\n\n(ADVERTISEMENT)",
        "Hi Ada. This is an advertisement.",
    ] {
        let action = change(us_email(), |e| e.body = body.to_string());
        assert_eq!(validate(action), Verdict::Allow, "{body:?}");
    }
    // Part of a longer word does not count.
    let action = change(us_email(), |e| e.body = "Advertisements galore".to_string());
    assert_eq!(rules(&validate(action)), [CAN_SPAM_AD_DISCLOSURE]);

    // Non-commercial email is exempt.
    let action = change(us_email(), |e| e.commercial = false);
    assert_eq!(validate(action), Verdict::Allow);
}

#[test]
fn ad_disclosure_text_is_configurable_and_whitespace_tolerant() {
    MockHost::new()
        .config("ad-disclosure-required", "YES")
        .config("ad-disclosure", "Paid  promotion by Acme")
        .install();
    let ok = change(us_email(), |e| {
        e.body = "Hi.\n\npaid promotion\nby ACME.".to_string()
    });
    assert_eq!(validate(ok), Verdict::Allow);
    let verdict = validate(change(us_email(), |e| e.body = "Advertisement".to_string()));
    assert!(
        findings(&verdict)[0]
            .message
            .contains("Paid promotion by Acme")
    );

    // Empty text means the default.
    MockHost::new()
        .config("ad-disclosure-required", "1")
        .config("ad-disclosure", " ")
        .install();
    let ok = change(us_email(), |e| e.body = "Advertisement. Hi.".to_string());
    assert_eq!(validate(ok), Verdict::Allow);

    MockHost::new()
        .config("ad-disclosure-required", "no")
        .install();
    assert_eq!(validate(us_email()), Verdict::Allow);
}

#[test]
fn gdpr_consent_or_cited_basis() {
    MockHost::new().install();
    let eu = |consent, basis: Option<&str>| {
        let mut to = recipient("c-104", "EU", "DE", consent);
        to.lawful_basis = basis.map(str::to_string);
        email_to(to)
    };
    assert_eq!(validate(eu(Consent::Granted, None)), Verdict::Allow);

    let verdict = validate(eu(Consent::Unknown, None));
    assert_eq!(rules(&verdict), [GDPR_CONSENT]);
    let f = findings(&verdict);
    assert_eq!(f[0].severity, Severity::Critical);
    assert_eq!(f[0].evidence, ["c-104"]);
    assert_eq!(span(f[0]), ("to.consent", 0, 7, "unknown"));

    // A basis must be cited: the contact record documents it...
    let verdict = validate(eu(Consent::Unknown, Some("contract")));
    assert_eq!(rules(&verdict), [GDPR_CONSENT]);
    assert_eq!(
        span(findings(&verdict)[0]),
        ("to.lawful-basis", 0, 8, "contract")
    );
    assert!(findings(&verdict)[0].message.contains("\"c-104\""));
    let cited = eu(Consent::Unknown, Some("contract")).citing(["c-104"]);
    assert_eq!(validate(cited), Verdict::Allow);

    // ...or the record named after a colon.
    let named = eu(Consent::Unknown, Some("legitimate-interest:ev-77"));
    let verdict = validate(named.clone().citing(["c-104"]));
    assert!(findings(&verdict)[0].message.contains("\"ev-77\""));
    assert_eq!(validate(named.citing(["ev-77"])), Verdict::Allow);
}

#[test]
fn gdpr_opt_out_overrides_a_basis_for_marketing_only() {
    MockHost::new().install();
    let mut to = recipient("c-109", "EU", "IE", Consent::Denied);
    to.lawful_basis = Some("contract".to_string());
    let marketing = email_to(to.clone()).citing(["c-109"]);
    let verdict = validate(marketing.clone());
    assert_eq!(rules(&verdict), [GDPR_CONSENT]);
    assert_eq!(span(findings(&verdict)[0]), ("to.consent", 0, 6, "denied"));

    let sms = sms_to(to, "Your order shipped. Reply STOP to opt out.").citing(["c-109"]);
    assert_eq!(rules(&validate(sms)), [GDPR_CONSENT]);

    let transactional = change(marketing, |e| e.commercial = false);
    assert_eq!(validate(transactional), Verdict::Allow);
}

#[test]
fn gdpr_only_for_eu_recipients() {
    MockHost::new().install();
    let us = email_to(recipient("c-1", "US", "US", Consent::Unknown));
    assert_eq!(validate(us), Verdict::Allow);
    let eu_lower = email_to(recipient("c-1", "eu", "FR", Consent::Unknown));
    assert_eq!(rules(&validate(eu_lower)), [GDPR_CONSENT]);
}

/// 2026-01-06T00:00:00Z.
const JAN_6: Timestamp = 1_767_657_600_000;
const MIN: Timestamp = 60_000;

#[test]
fn tcpa_quiet_hours_edges() {
    MockHost::new().install();
    let ny = || {
        let mut to = recipient("c-201", "US", "US", Consent::Granted);
        to.utc_offset_minutes = -300;
        sms_to(to, "Spring sale today. Reply STOP to opt out.")
    };
    // Local = UTC - 5h.
    let allowed = [
        JAN_6 + 60 * MIN + 59 * MIN, // 20:59 local
        JAN_6 - 11 * 60 * MIN,       // 08:00 local (13:00Z on Jan 5)
        JAN_6 + 60 * MIN,            // 20:00 local
    ];
    for now in allowed {
        let minute = local_minute_of_day(now, -300);
        assert_eq!(validate_at(ny(), now), Verdict::Allow, "{}", clock(minute));
    }
    for (now, local) in [
        (JAN_6 + 2 * 60 * MIN, "21:00"),
        (JAN_6 - 11 * 60 * MIN - MIN, "07:59"),
        (JAN_6 + 5 * 60 * MIN, "00:00"),
    ] {
        let verdict = validate_at(ny(), now);
        assert_eq!(rules(&verdict), [TCPA_QUIET_HOURS], "{local}");
        let f = findings(&verdict);
        assert!(f[0].message.contains(local), "{}", f[0].message);
        assert!(f[0].message.contains("UTC-05:00"), "{}", f[0].message);
        assert_eq!(span(f[0]), ("to.utc-offset-minutes", 0, 4, "-300"));
    }
}

#[test]
fn local_time_helpers() {
    assert_eq!(local_minute_of_day(NOW, 0), 10 * 60);
    assert_eq!(local_minute_of_day(NOW, -600), 0);
    assert_eq!(local_minute_of_day(NOW, 330), 15 * 60 + 30);
    assert_eq!(local_minute_of_day(0, -1), 23 * 60 + 59);
    assert_eq!(
        local_minute_of_day(i64::MAX, i32::MAX),
        local_minute_of_day(i64::MAX, 0)
    );
    assert_eq!(utc_offset(-300), "UTC-05:00");
    assert_eq!(utc_offset(330), "UTC+05:30");
    assert_eq!(clock(8 * 60 + 5), "08:05");
}

#[test]
fn tcpa_consent_and_opt_out() {
    MockHost::new().install();
    // 10:00Z is 10:00 local at offset 0: inside the window.
    let us = |consent, body: &str| sms_to(recipient("c-202", "US", "US", consent), body);
    assert_eq!(
        validate(us(Consent::Granted, "Sale! Reply stop to opt out")),
        Verdict::Allow
    );
    assert_eq!(
        validate(us(Consent::Granted, "Sale! Text STOP.")),
        Verdict::Allow
    );

    let verdict = validate(us(Consent::Unknown, "Sale! Reply STOP to opt out."));
    assert_eq!(rules(&verdict), [TCPA_CONSENT]);
    assert_eq!(findings(&verdict)[0].evidence, ["c-202"]);

    for body in [
        "Nonstop deals all week",
        "STOPPED by? Come again",
        "Sale today!",
    ] {
        let verdict = validate(us(Consent::Granted, body));
        assert_eq!(rules(&verdict), [TCPA_OPT_OUT], "{body:?}");
        let n = body.len() as u32;
        assert_eq!(span(findings(&verdict)[0]), ("body", n, n, ""));
    }
}

#[test]
fn tcpa_only_for_us_sms() {
    MockHost::new().install();
    let mut to = recipient("c-301", "APAC", "AU", Consent::Unknown);
    to.utc_offset_minutes = -600; // 00:00 local
    assert_eq!(validate(sms_to(to, "Sale today")), Verdict::Allow);
}

#[test]
fn casl_email() {
    MockHost::new().install();
    let ca = |consent| email_to(recipient("c-401", "CA", "CA", consent));
    assert_eq!(validate(ca(Consent::Granted)), Verdict::Allow);
    let verdict = validate(ca(Consent::Unknown));
    assert_eq!(rules(&verdict), [CASL_CONSENT]);
    assert_eq!(findings(&verdict)[0].evidence, ["c-401"]);

    let verdict = validate(change(ca(Consent::Granted), |e| e.unsubscribe_url = None));
    assert_eq!(rules(&verdict), [CAN_SPAM_UNSUBSCRIBE, CASL_UNSUBSCRIBE]);
    assert!(findings(&verdict)[1].message.contains("CASL"));

    let verdict = validate(change(ca(Consent::Granted), |e| e.from_name.clear()));
    assert_eq!(rules(&verdict), [CAN_SPAM_SENDER_ID, CASL_SENDER_ID]);

    // Transactional: no consent needed, but identification and unsubscribe are.
    let transactional = change(ca(Consent::Unknown), |e| e.commercial = false);
    assert_eq!(validate(transactional.clone()), Verdict::Allow);
    let verdict = validate(change(transactional, |e| e.unsubscribe_url = None));
    assert_eq!(rules(&verdict), [CASL_UNSUBSCRIBE]);
}

#[test]
fn casl_sms() {
    MockHost::new().install();
    let ca = |consent, sender: &str, body: &str| {
        Action::sms("s-1", recipient("c-402", "CA", "CA", consent), sender, body)
    };
    assert_eq!(
        validate(ca(
            Consent::Granted,
            "ACME",
            "Sale. Reply STOP to unsubscribe."
        )),
        Verdict::Allow
    );
    assert_eq!(
        rules(&validate(ca(
            Consent::Denied,
            "ACME",
            "Sale. Reply STOP to unsubscribe."
        ))),
        [CASL_CONSENT]
    );
    let verdict = validate(ca(Consent::Granted, "  ", "Sale. Reply STOP."));
    assert_eq!(rules(&verdict), [CASL_SENDER_ID]);
    assert_eq!(span(findings(&verdict)[0]), ("sender", 0, 2, "  "));
    assert_eq!(
        rules(&validate(ca(Consent::Granted, "ACME", "Sale."))),
        [CASL_UNSUBSCRIBE]
    );
}

#[test]
fn other_kinds_are_allowed() {
    MockHost::new().install();
    let ad = Action::new(
        "b-1",
        ActionKind::AdBudget(AdBudgetChange {
            platform: "google-ads".to_string(),
            campaign_id: "cmp-1".to_string(),
            currency: "USD".to_string(),
            current_daily_micros: 1,
            proposed_daily_micros: 2,
            ad_copy: Some("RE: no unsubscribe".to_string()),
        }),
    );
    assert_eq!(validate(ad), Verdict::Allow);
    let generic = Action::new(
        "g-1",
        ActionKind::Generic(GenericAction {
            kind: "crm.update-stage".to_string(),
            payload_json: "{}".to_string(),
        }),
    );
    assert_eq!(validate(generic), Verdict::Allow);
}

#[test]
fn word_helpers() {
    assert_eq!(find_word("Reply STOP", "stop"), Some(6));
    assert_eq!(find_word("nonstop", "stop"), None);
    assert_eq!(find_word("stop_now", "stop"), None);
    assert_eq!(find_word("(STOP)", "stop"), Some(1));
    assert_eq!(find_word("x[Ad]", "[ad]"), Some(1));
    assert_eq!(find_word("anything", ""), None);
    assert!(contains_words("a\n  b c", "A B"));
    assert!(!contains_words("ab c", "b c"));
    assert!(contains_words("anything", "  "));
    assert_eq!(basis_evidence("contract", "c-1"), ("contract", "c-1"));
    assert_eq!(
        basis_evidence("contract: ev-7", "c-1"),
        ("contract", "ev-7")
    );
    assert_eq!(basis_evidence("contract:", "c-1"), ("contract", "c-1"));
}
