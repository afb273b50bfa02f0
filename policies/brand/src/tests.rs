//! Native unit tests of the brand pack. The labelled cases (`cases.json`)
//! run against the built component with `gatehouse pack test policies/brand`.

use super::*;
use gatehouse_guest::testing::{MockHost, findings, rules};

/// A returning customer (not a first contact).
fn returning(id: &str) -> Recipient {
    Recipient {
        first_contact: false,
        ..Recipient::contact(id)
    }
}

/// A commercial email to a returning customer, with the disclosure.
fn email(subject: &str, body: &str) -> Action {
    let body = format!("{body}\n\n{DEFAULT_DISCLOSURE}");
    Action::email("a-1", returning("c-1"), Purpose::Commercial, subject, &body)
}

fn validate(action: Action) -> Verdict {
    Brand::validate(action, RunContext::for_test())
}

fn modified_email(verdict: &Verdict) -> Option<&Email> {
    match verdict {
        Verdict::Modify(m) => m.action.as_email(),
        _ => None,
    }
}

#[test]
fn describes_every_rule() {
    let info = Brand::describe();
    assert_eq!(info.name, "brand");
    assert_eq!(info.version, "0.2.0");
    let ids: Vec<&str> = info.rules.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            BANNED_CLAIM,
            REQUIRED_DISCLOSURE,
            SUBJECT_LINE,
            NAME_SPELLING,
            EXCLAMATION_RUN
        ]
    );
    assert!(info.sdk.is_some());
}

#[test]
fn clean_email_to_returning_customer_is_allowed() {
    MockHost::new().install();
    let action = email(
        "Spring ideas for your garden",
        "Hi Sofie,\n\nAcme's new planting guides are out. Reply if you want one.",
    );
    assert!(matches!(validate(action), Verdict::Allow));
}

#[test]
fn banned_claim_is_denied_with_its_span() {
    MockHost::new().install();
    let body = "Results GUARANTEED, or your money back.";
    let action = email("Your plan", body);
    let verdict = validate(action);
    assert!(matches!(verdict, Verdict::Deny(_)), "{verdict:?}");
    let f = findings(&verdict);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].rule, BANNED_CLAIM);
    assert_eq!(f[0].severity, Severity::High);
    let span = f[0].location.as_ref().expect("a span");
    assert_eq!(span.field, "body");
    assert_eq!(span.start, 8);
    assert_eq!(span.end, 18);
    assert_eq!(span.excerpt, "GUARANTEED");
}

#[test]
fn banned_claims_are_found_in_subject_sms_and_ad_copy() {
    MockHost::new().install();
    let verdict = validate(email("A Risk-Free trial", "Hi"));
    let f = findings(&verdict);
    assert_eq!(rules(&verdict), [BANNED_CLAIM]);
    let span = f[0].location.as_ref().expect("a span");
    assert_eq!((span.field.as_str(), span.start), ("subject", 2));
    assert_eq!(span.excerpt, "Risk-Free");

    let sms = Action::sms(
        "a-2",
        returning("c-1"),
        Purpose::Commercial,
        "Now 100% FREE: reply YES",
    );
    assert_eq!(rules(&validate(sms)), [BANNED_CLAIM]);

    let ad = Action::new(
        "a-3",
        ActionKind::AdBudget(AdBudgetChange {
            platform: "google-ads".to_string(),
            campaign_id: "cmp-1".to_string(),
            currency: "EUR".to_string(),
            current_daily_micros: 10_000_000,
            proposed_daily_micros: 12_000_000,
            ad_copy: Some("The #1 rated planner. Best in the world.".to_string()),
        }),
    );
    let verdict = validate(ad);
    assert!(matches!(verdict, Verdict::Deny(_)));
    let excerpts: Vec<&str> = findings(&verdict)
        .iter()
        .filter_map(|f| f.location.as_ref())
        .map(|s| s.excerpt.as_str())
        .collect();
    assert_eq!(excerpts, ["#1 rated", "Best in the world"]);
}

#[test]
fn banned_claims_match_whole_words_only() {
    MockHost::new().install();
    // "cure" inside "secure", "procure" or "manicure" is not a claim.
    let action = email(
        "Secure checkout",
        "Procure your seats through our secure portal. Free manicure included.",
    );
    assert!(matches!(validate(action), Verdict::Allow));
}

#[test]
fn every_occurrence_is_reported_with_offsets_into_the_original() {
    MockHost::new().install();
    // Non-ASCII text before the claim: offsets are bytes of the original.
    let body = "Schöne Grüße: a miracle! Truly a Miracle.";
    let verdict = validate(email("Hello", body));
    let starts: Vec<u32> = findings(&verdict)
        .iter()
        .filter_map(|f| f.location.as_ref())
        .map(|s| s.start)
        .collect();
    let first = body.find("miracle").expect("present") as u32;
    let second = body.find("Miracle").expect("present") as u32;
    assert_eq!(starts, [first, second]);
}

#[test]
fn configured_banned_claims_replace_the_defaults() {
    MockHost::new()
        .config("banned-claims", "Once in a lifetime\n\n  act now  \n")
        .install();
    // A default term is no longer banned...
    assert!(matches!(
        validate(email("Hello", "Guaranteed delivery by Friday.")),
        Verdict::Allow
    ));
    // ...the configured ones are, trimmed and case-insensitive.
    let verdict = validate(email("Hello", "A once in a lifetime offer. ACT NOW."));
    assert_eq!(rules(&verdict), [BANNED_CLAIM, BANNED_CLAIM]);
}

#[test]
fn empty_banned_claims_config_disables_the_rule() {
    MockHost::new().config("banned-claims", "").install();
    assert!(matches!(
        validate(email("Hello", "Guaranteed miracle cure.")),
        Verdict::Allow
    ));
}

#[test]
fn missing_disclosure_is_appended() {
    MockHost::new().install();
    let action = Action::email(
        "a-1",
        returning("c-1"),
        Purpose::Commercial,
        "Hello",
        "Hi Ada,\nNew offers.\n\n",
    );
    let verdict = validate(action);
    assert_eq!(rules(&verdict), [REQUIRED_DISCLOSURE]);
    let f = findings(&verdict);
    assert_eq!(f[0].severity, Severity::Medium);
    let changed = modified_email(&verdict).expect("modified");
    assert_eq!(
        changed.body,
        format!("Hi Ada,\nNew offers.\n\n{DEFAULT_DISCLOSURE}")
    );
}

#[test]
fn another_brands_email_gets_no_disclosure() {
    MockHost::new().install();
    let mut action = Action::email(
        "a-1",
        returning("c-1"),
        Purpose::Commercial,
        "Hello",
        "Hi Ada.",
    );
    if let ActionKind::Email(e) = &mut action.kind {
        e.sender.brand = "Globex".into();
    }
    assert_eq!(validate(action), Verdict::Allow);
}

#[test]
fn a_profile_without_disclosures_asks_for_none() {
    MockHost::new().install();
    let mut action = Action::email(
        "a-1",
        returning("c-1"),
        Purpose::Commercial,
        "Hello",
        "Hi Ada.",
    );
    if let ActionKind::Email(e) = &mut action.kind {
        e.sender.brand = "Acme".into();
        e.sender.profile = "acme".into();
    }
    assert_eq!(validate(action), Verdict::Allow);
}

#[test]
fn the_profiles_own_disclosure_is_appended() {
    MockHost::new().install();
    let mut action = Action::email(
        "a-1",
        returning("c-1"),
        Purpose::Commercial,
        "Hello",
        "Hi Ada.",
    );
    if let ActionKind::Email(e) = &mut action.kind {
        e.sender.brand = "Acme".into();
        e.sender.profile = "acme".into();
        e.sender.disclosures = vec!["Sent by Acme Inc. to its customers.".into()];
    }
    let verdict = validate(action);
    let email = modified_email(&verdict).expect("modified");
    assert!(email.body.ends_with("Sent by Acme Inc. to its customers."));
    assert!(
        findings(&verdict)[0]
            .fix
            .as_deref()
            .unwrap_or("")
            .contains("acme")
    );
}

#[test]
fn disclosure_is_not_required_of_non_commercial_email() {
    MockHost::new().install();
    let mut action = Action::email(
        "a-1",
        returning("c-1"),
        Purpose::Transactional,
        "Your invoice",
        "Attached.",
    );
    if let ActionKind::Email(e) = &mut action.kind {
        e.purpose = Purpose::Transactional;
    }
    assert!(matches!(validate(action), Verdict::Allow));
}

#[test]
fn wrapped_disclosure_counts_as_present() {
    MockHost::new().install();
    let wrapped = DEFAULT_DISCLOSURE.replacen(". ", ".\n", 1);
    let action = Action::email(
        "a-1",
        returning("c-1"),
        Purpose::Commercial,
        "Hello",
        &format!("Hi.\n\n{wrapped}"),
    );
    assert!(matches!(validate(action), Verdict::Allow));
}

#[test]
fn configured_disclosure_is_used() {
    MockHost::new()
        .config("disclosure", "Sent by Acme GmbH, Berlin.")
        .install();
    let verdict = validate(Action::email(
        "a-1",
        returning("c-1"),
        Purpose::Commercial,
        "Hello",
        "Hi.",
    ));
    let changed = modified_email(&verdict).expect("modified");
    assert_eq!(changed.body, "Hi.\n\nSent by Acme GmbH, Berlin.");
    let ok = Action::email(
        "a-1",
        returning("c-1"),
        Purpose::Commercial,
        "Hello",
        "Hi.\nSent by Acme GmbH, Berlin.",
    );
    assert!(matches!(validate(ok), Verdict::Allow));
}

#[test]
fn subject_rules_fire() {
    MockHost::new().install();
    let cases = [
        ("", "empty"),
        ("   ", "empty"),
        ("BIG SPRING SALE", "capitals"),
        ("Spring sale!!", "in a row"),
        ("Spring sale!!! Now", "in a row"),
    ];
    for (subject, message) in cases {
        let verdict = validate(email(subject, "Hi"));
        assert!(matches!(verdict, Verdict::Deny(_)), "{subject:?}");
        let f = findings(&verdict);
        assert_eq!(f[0].rule, SUBJECT_LINE, "{subject:?}");
        assert_eq!(f[0].severity, Severity::Medium);
        assert!(
            f[0].message.contains(message),
            "{subject:?}: {}",
            f[0].message
        );
    }
}

#[test]
fn long_subject_points_at_the_overflow() {
    MockHost::new().install();
    let subject = format!("{}é tail", "a".repeat(MAX_SUBJECT_CHARS - 1));
    let verdict = validate(email(&subject, "Hi"));
    let f = findings(&verdict);
    assert_eq!(rules(&verdict), [SUBJECT_LINE]);
    let span = f[0].location.as_ref().expect("a span");
    assert_eq!(span.excerpt, " tail");
    assert_eq!(span.start as usize, MAX_SUBJECT_CHARS + 1); // 'é' is 2 bytes
    let exactly = "a".repeat(MAX_SUBJECT_CHARS);
    assert!(matches!(validate(email(&exactly, "Hi")), Verdict::Allow));
}

#[test]
fn acceptable_subjects_pass() {
    MockHost::new().install();
    // One "!" at a time is fine; three capitals or fewer are not "all capitals".
    for subject in [
        "Spring sale!",
        "Hi! New plans! Take a look",
        "NEW",
        "Q2 plans for EU",
    ] {
        let verdict = validate(email(subject, "Hi"));
        assert!(
            matches!(verdict, Verdict::Allow),
            "{subject:?}: {verdict:?}"
        );
    }
}

#[test]
fn thread_prefix_on_first_contact_is_denied() {
    MockHost::new().install();
    for (subject, excerpt) in [
        ("RE: our call", "RE:"),
        ("  re : our call", "re :"),
        ("Fwd: pricing", "Fwd:"),
        ("FW: pricing", "FW:"),
    ] {
        let action = Action::email(
            "a-1",
            Recipient::contact("c-9"),
            Purpose::Commercial,
            subject,
            DEFAULT_DISCLOSURE,
        );
        let verdict = validate(action);
        assert_eq!(rules(&verdict), [SUBJECT_LINE], "{subject:?}");
        let f = findings(&verdict);
        assert_eq!(f[0].location.as_ref().expect("span").excerpt, excerpt);
    }
}

#[test]
fn thread_prefix_rules_do_not_fire_on_look_alikes_or_returning_contacts() {
    MockHost::new().install();
    let first = |subject: &str| {
        Action::email(
            "a-1",
            Recipient::contact("c-9"),
            Purpose::Commercial,
            subject,
            DEFAULT_DISCLOSURE,
        )
    };
    for subject in ["Re-engage with Acme", "Reading list", "Fwding soon", "Free"] {
        assert!(
            matches!(validate(first(subject)), Verdict::Allow),
            "{subject:?}"
        );
    }
    // A returning customer may get a reply in a thread.
    assert!(matches!(
        validate(email("Re: our call", "Hi")),
        Verdict::Allow
    ));
}

#[test]
fn misspelled_brand_name_is_corrected() {
    MockHost::new().install();
    let action = email("News from ACME", "Hi,\nacme and AcMe say hello. Acme too.");
    let verdict = validate(action);
    assert_eq!(rules(&verdict), [NAME_SPELLING; 3]);
    let f = findings(&verdict);
    assert_eq!(f[0].severity, Severity::Low);
    let span = f[1].location.as_ref().expect("span");
    assert_eq!(
        (span.field.as_str(), span.start, span.excerpt.as_str()),
        ("body", 4, "acme")
    );
    let changed = modified_email(&verdict).expect("modified");
    assert_eq!(changed.subject, "News from Acme");
    assert!(
        changed
            .body
            .starts_with("Hi,\nAcme and Acme say hello. Acme too.")
    );
}

#[test]
fn brand_name_matches_whole_words_outside_addresses() {
    MockHost::new().install();
    let action = email(
        "The Acmeist manifesto",
        "acmeist and ACMEs are not the brand. Write to news@acme.example \
         or visit https://acme.example/u/c-1 or www.acme.example.",
    );
    assert!(matches!(validate(action), Verdict::Allow));
}

#[test]
fn configured_brand_name_is_used() {
    MockHost::new().config("brand-name", "Globex").install();
    let verdict = validate(email("GLOBEX news", "Hi"));
    let changed = modified_email(&verdict).expect("modified");
    assert_eq!(changed.subject, "Globex news");
}

#[test]
fn spelling_and_disclosure_modifications_combine() {
    MockHost::new().install();
    let action = Action::email(
        "a-1",
        returning("c-1"),
        Purpose::Commercial,
        "Hello",
        "The acme team",
    );
    let verdict = validate(action);
    assert_eq!(rules(&verdict), [NAME_SPELLING, REQUIRED_DISCLOSURE]);
    let changed = modified_email(&verdict).expect("modified");
    assert_eq!(
        changed.body,
        format!("The Acme team\n\n{DEFAULT_DISCLOSURE}")
    );
}

#[test]
fn exclamation_run_in_body_is_escalated() {
    MockHost::new().install();
    let body = "Big news!!! Really!!!!";
    let verdict = validate(email("Hello", body));
    assert!(matches!(verdict, Verdict::Escalate(_)), "{verdict:?}");
    let spans: Vec<(u32, u32)> = findings(&verdict)
        .iter()
        .filter_map(|f| f.location.as_ref())
        .map(|s| (s.start, s.end))
        .collect();
    assert_eq!(spans, [(8, 11), (18, 22)]);
    assert_eq!(rules(&verdict), [EXCLAMATION_RUN; 2]);
}

#[test]
fn two_exclamation_marks_in_body_are_fine() {
    MockHost::new().install();
    assert!(matches!(
        validate(email("Hello", "Big news!! Really! Yes!")),
        Verdict::Allow
    ));
}

#[test]
fn deny_wins_and_keeps_the_other_findings() {
    MockHost::new().install();
    let action = Action::email(
        "a-1",
        returning("c-1"),
        Purpose::Commercial,
        "Hello",
        "Guaranteed!!! by acme",
    );
    let verdict = validate(action);
    assert!(matches!(verdict, Verdict::Deny(_)));
    assert_eq!(
        rules(&verdict),
        [
            BANNED_CLAIM,
            EXCLAMATION_RUN,
            NAME_SPELLING,
            REQUIRED_DISCLOSURE
        ]
    );
}

#[test]
fn actions_without_text_are_allowed() {
    MockHost::new().install();
    let action = Action::new(
        "a-1",
        ActionKind::Audience(AudienceUpdate {
            platform: "meta-ads".to_string(),
            platform_region: "EU".to_string(),
            audience_id: "aud-1".to_string(),
            operation: AudienceOperation::Add,
            contact_ids: vec!["c-1".to_string()],
            fields: Vec::new(),
            targeting: Vec::new(),
        }),
    );
    assert!(matches!(validate(action), Verdict::Allow));
}

#[test]
fn helpers() {
    assert_eq!(exclamation_runs("!a!!b!!!", 2), [(2, 2), (5, 3)]);
    assert_eq!(exclamation_runs("!!!", 3), [(0, 3)]);
    assert!(thread_prefix("Re-engage").is_none());
    assert!(is_all_capitals("HELLO"));
    assert!(!is_all_capitals("HEY!"));
    assert!(!is_all_capitals("Hello"));
    let m: Vec<usize> = whole_word_matches("no risk, no risky bets", "no risk").collect();
    assert_eq!(m, [0]);
}

/// A commercial email from a stamped sender of `brand` (profile id in
/// lowercase) with the given disclosures.
fn from_brand(brand: &str, disclosures: &[&str], body: &str) -> Action {
    let mut action = Action::email("a-1", returning("c-1"), Purpose::Commercial, "Hello", body);
    if let ActionKind::Email(e) = &mut action.kind {
        e.sender.brand = brand.into();
        e.sender.profile = brand.to_ascii_lowercase();
        e.sender.disclosures = disclosures.iter().map(|d| d.to_string()).collect();
    }
    action
}

#[test]
fn another_brands_email_keeps_its_own_disclosure_untouched() {
    MockHost::new().install();
    // Globex's profile has its own disclosure, missing from the body: not
    // this pack's business, and Acme's is never added either.
    let action = from_brand("Globex", &["Globex ad."], "Hi Ada, spring offers.");
    assert_eq!(validate(action), Verdict::Allow);
}

#[test]
fn the_brand_matches_in_any_case_and_follows_the_configuration() {
    MockHost::new().install();
    let verdict = validate(from_brand("ACME", &["Acme ad."], "Hi Ada."));
    assert_eq!(rules(&verdict), [REQUIRED_DISCLOSURE]);

    // A pack configured for Globex binds the disclosure to Globex.
    MockHost::new().config("brand-name", "Globex").install();
    let verdict = validate(from_brand("Globex", &["Globex ad."], "Hi Ada."));
    let changed = modified_email(&verdict).expect("modified");
    assert!(changed.body.ends_with("Globex ad."));
    assert_eq!(
        findings(&verdict)[0].fix.as_deref(),
        Some("appended the disclosure of sender profile `globex`: \"Globex ad.\"")
    );
    assert_eq!(
        validate(from_brand("Acme", &["Acme ad."], "Hi Ada.")),
        Verdict::Allow
    );
}

#[test]
fn an_unstamped_senders_fix_names_the_configured_disclosure() {
    MockHost::new().config("disclosure", "Acme ad.").install();
    let action = Action::email("a-1", returning("c-1"), Purpose::Commercial, "Hello", "Hi.");
    let verdict = validate(action);
    assert_eq!(
        findings(&verdict)[0].fix.as_deref(),
        Some("appended the configured disclosure: \"Acme ad.\"")
    );
}

#[test]
fn house_rules_cite_nothing_and_every_modification_says_its_fix() {
    MockHost::new().install();
    assert!(Brand::describe().rules.iter().all(|r| r.citation.is_none()));
    let action = Action::email(
        "a-1",
        returning("c-1"),
        Purpose::Commercial,
        "Hello",
        "Guaranteed!!! by acme",
    );
    let verdict = validate(action);
    let f = findings(&verdict);
    assert_eq!(f.len(), 4);
    for finding in &f {
        assert!(finding.citation.is_none(), "{finding:?}");
        let modifies = matches!(finding.rule.as_str(), NAME_SPELLING | REQUIRED_DISCLOSURE);
        assert_eq!(finding.fix.is_some(), modifies, "{finding:?}");
    }
}
