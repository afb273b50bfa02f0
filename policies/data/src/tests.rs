//! Native unit tests: detectors, spans and rule semantics. The data-driven
//! cases (`cases.json`) run against the built component with
//! `gatehouse pack test policies/data`.

use super::*;
use gatehouse_guest::testing::{MockHost, findings, rules};

fn allow_none() -> pii::Allow {
    pii::Allow::default()
}

/// The kinds and texts of the hits in `text`.
fn hits(text: &str) -> Vec<(PiiKind, &str)> {
    pii::scan(text, &allow_none())
        .into_iter()
        .map(|h| (h.kind, &text[h.start..h.end]))
        .collect()
}

fn validate(action: Action) -> Verdict {
    Data::validate(action, RunContext::for_test())
}

fn validate_in(action: Action, partition: &str) -> Verdict {
    let ctx = RunContext {
        partition: partition.to_string(),
        ..RunContext::for_test()
    };
    Data::validate(action, ctx)
}

fn span(f: &Finding) -> (&str, u32, u32, &str) {
    let s = f.location.as_ref().expect("every finding has a location");
    (s.field.as_str(), s.start, s.end, s.excerpt.as_str())
}

fn email(subject: &str, body: &str) -> Action {
    let mut action = Action::email(
        "a-1",
        Recipient::contact("c-1"),
        Purpose::Commercial,
        subject,
        body,
    );
    if let Some(e) = action.email_mut() {
        e.sender.from_name = "Acme Marketing".to_string();
        e.sender.from_address = "news@acme.example".to_string();
        e.unsubscribe = Some("https://acme.example/u?e=ada@example.eu".to_string());
    }
    action
}

fn ad(copy: &str) -> Action {
    Action::new(
        "b-1",
        ActionKind::AdBudget(AdBudgetChange {
            platform: "google-ads".to_string(),
            campaign_id: "cmp-1".to_string(),
            currency: "EUR".to_string(),
            current_daily_micros: 10_000_000,
            proposed_daily_micros: 12_000_000,
            ad_copy: Some(copy.to_string()),
        }),
    )
}

/// `attribute:value` (or a bare value, as an interest) about the person.
fn person(text: &str) -> Criterion {
    match text.split_once(':') {
        Some((attribute, value)) => Criterion::person(attribute, value),
        None => Criterion::person("interest", text),
    }
}

fn audience(
    region: &str,
    platform_region: &str,
    operation: AudienceOperation,
    fields: &[&str],
    targeting: &[&str],
) -> Action {
    Action::new(
        "u-1",
        ActionKind::Audience(AudienceUpdate {
            platform: "meta-ads".to_string(),
            platform_region: platform_region.to_string(),
            audience_id: "aud-1".to_string(),
            operation,
            contact_ids: vec!["c-1".to_string(), "c-2".to_string()],
            fields: fields.iter().map(|f| f.to_string()).collect(),
            targeting: targeting.iter().map(|t| person(t)).collect(),
        }),
    )
    .by("audience-agent", region)
}

#[test]
fn describes_every_rule_in_manifest_order() {
    let info = Data::describe();
    assert_eq!(
        (info.name.as_str(), info.version.as_str()),
        ("data", "0.2.0")
    );
    let ids: Vec<&str> = info.rules.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            PII_IN_CONTENT,
            SPECIAL_CATEGORY_TARGETING,
            PARTITION,
            MINIMISATION
        ]
    );
    assert!(info.rules.iter().all(|r| r.severity >= Severity::High));
}

#[test]
fn luhn_and_mod97() {
    for valid in [
        "4111111111111111",
        "5555555555554444",
        "378282246310005",
        "79927398713",
    ] {
        assert!(luhn_valid(valid), "{valid}");
    }
    for invalid in ["4111111111111112", "1234567890123", "", "41111x1111111111"] {
        assert!(!luhn_valid(invalid), "{invalid}");
    }
    for valid in [
        "DE89370400440532013000",
        "GB82WEST12345698765432",
        "FR1420041010050500013M02606",
    ] {
        assert!(mod97_valid(valid), "{valid}");
    }
    for invalid in [
        "DE00370400440532013000",
        "GB82WEST12345698765433",
        "DE89",
        "de89370400440532013000",
    ] {
        assert!(!mod97_valid(invalid), "{invalid}");
    }
}

#[test]
fn detects_each_kind() {
    use PiiKind::*;
    assert_eq!(
        hits("Write to ada.lovelace+news@example.co.uk."),
        [(Email, "ada.lovelace+news@example.co.uk")]
    );
    assert_eq!(
        hits("Call +49 151 23456789 today"),
        [(Phone, "+49 151 23456789")]
    );
    assert_eq!(
        hits("Call +44 (0)20 7946 0958."),
        [(Phone, "+44 (0)20 7946 0958")]
    );
    assert_eq!(hits("Call (555) 123-4567 now"), [(Phone, "(555) 123-4567")]);
    assert_eq!(
        hits("Call 555-123-4567, or 555.123.4567"),
        [(Phone, "555-123-4567"), (Phone, "555.123.4567")]
    );
    assert_eq!(hits("Tel: 030 1234567"), [(Phone, "030 1234567")]);
    assert_eq!(hits("Tel 07700900123"), [(Phone, "07700900123")]);
    assert_eq!(
        hits("Appelez le 06 12 34 56 78"),
        [(Phone, "06 12 34 56 78")]
    );
    assert_eq!(
        hits("Ruf an: 0049 30 1234567"),
        [(Phone, "0049 30 1234567")]
    );
    assert_eq!(
        hits("Card 4111 1111 1111 1111 on file"),
        [(Card, "4111 1111 1111 1111")]
    );
    assert_eq!(
        hits("Card 5555-5555-5555-4444"),
        [(Card, "5555-5555-5555-4444")]
    );
    assert_eq!(hits("Amex 378282246310005."), [(Card, "378282246310005")]);
    assert_eq!(
        hits("IBAN DE89 3704 0044 0532 0130 00 THANKS"),
        [(Iban, "DE89 3704 0044 0532 0130 00")]
    );
    assert_eq!(
        hits("IBAN: GB82WEST12345698765432"),
        [(Iban, "GB82WEST12345698765432")]
    );
}

#[test]
fn false_positive_guards() {
    for text in [
        "Hi Ada, the plan costs $1,234 a year.",
        "Now 1,234.56 EUR, was 1,499.00 EUR.",
        "Budget: € 100 000 000 or 100 000 000 EUR.",
        "On 2026-01-05 10:00, or 05.01.2026 10:00, or 01/05/2026.",
        "Pi is 3.1415926535 and we have 1.234.567.890 fans.",
        "Order 4111 1111 1111 1112 ships today.",
        "Order 1234-5678-9012-3 and invoice 2026-000123.",
        "Order #123-456-789 and ref ABC123456789.",
        "See https://acme.example/u/123456789 for details.",
        "Reference DE00 3704 0044 0532 0130 00.",
        "Save 30% on 12 items, 3 for 2.",
        "Follow @acme on social.",
        "Placeholder 0000 0000 0000 0000.",
        "Grüße 2026",
    ] {
        assert_eq!(hits(text), [], "{text:?}");
    }
}

#[test]
fn overlapping_hits_keep_the_strongest() {
    use PiiKind::*;
    // A phone-looking run inside an address is part of the address.
    assert_eq!(
        hits("Mail +4915112345678@sms.example"),
        [(Email, "+4915112345678@sms.example")]
    );
    // Several hits, in reading order.
    assert_eq!(
        hits("a@b.io 4111111111111111 +1 800 555 0199"),
        [
            (Email, "a@b.io"),
            (Card, "4111111111111111"),
            (Phone, "+1 800 555 0199")
        ]
    );
}

#[test]
fn financial_data_is_masked_in_the_message_and_the_finding() {
    MockHost::new().install();
    let body = "Hi Ada, your card 4111 1111 1111 1111 and IBAN DE89 3704 0044 0532 0130 00.";
    let verdict = validate(email("Hello", body));
    let Verdict::Modify(m) = &verdict else {
        panic!("financial data is masked: {verdict:?}");
    };
    assert_eq!(rules(&verdict), [PII_IN_CONTENT, PII_IN_CONTENT]);
    let changed = m.action.as_email().expect("an email");
    assert_eq!(
        changed.body,
        "Hi Ada, your card **** **** **** 1111 and IBAN DE89 **** **** **** **30 00."
    );
    let f = findings(&verdict);
    assert_eq!(f[0].severity, Severity::High);
    let card_at = body.find("4111").expect("present") as u32;
    assert_eq!(
        span(f[0]),
        ("body", card_at, card_at + 19, "**** **** **** 1111")
    );
    let iban_at = body.find("DE89").expect("present") as u32;
    assert_eq!(
        span(f[1]),
        ("body", iban_at, iban_at + 27, "DE89 **** **** **** **30 00")
    );
    for finding in &f {
        assert_eq!(finding.citation.as_deref(), Some(citation::PII_IN_CONTENT));
        let fix = finding.fix.as_deref().unwrap_or("");
        assert!(fix.starts_with("masked "), "{fix}");
        assert!(!fix.contains("4111 1111") && !finding.message.contains("4111 1111"));
    }
    assert!(
        f[0].message.contains("payment card number"),
        "{}",
        f[0].message
    );
}

#[test]
fn a_contact_in_the_message_is_denied_even_with_a_mask_to_make() {
    MockHost::new().install();
    let verdict = validate(email(
        "Hello",
        "Card 4111 1111 1111 1111, questions to bob@example.org",
    ));
    assert!(matches!(verdict, Verdict::Deny(_)), "{verdict:?}");
    assert_eq!(rules(&verdict), [PII_IN_CONTENT, PII_IN_CONTENT]);
    let f = findings(&verdict);
    assert!(f.iter().all(|f| f.citation.is_some()));
    assert!(f[0].fix.is_none() && f[1].fix.is_some());
}

#[test]
fn pii_in_subject_sms_and_ad_copy() {
    MockHost::new().install();
    let verdict = validate(email("Ada, reach me at bob@example.org", "Hi"));
    assert_eq!(
        span(findings(&verdict)[0]),
        ("subject", 17, 32, "bob@example.org")
    );

    let sms = Action::sms(
        "s-1",
        Recipient::contact("c-1"),
        Purpose::Commercial,
        "Call +1 415 555 0100. STOP to end",
    );
    let verdict = validate(sms);
    assert_eq!(
        span(findings(&verdict)[0]),
        ("body", 5, 20, "+1 415 555 0100")
    );

    let verdict = validate(ad("Questions? jane.doe@gmail.com"));
    assert_eq!(
        span(findings(&verdict)[0]),
        ("ad-copy", 11, 29, "jane.doe@gmail.com")
    );
    assert!(findings(&verdict)[0].message.contains("ad copy"));
}

#[test]
fn sender_addresses_and_configured_company_contacts_are_not_pii() {
    MockHost::new().install();
    // The sender's own address; the unsubscribe link is not checked.
    let action = email(
        "Hello",
        "Hi Ada, reply to news@acme.example or NEWS@ACME.EXAMPLE.",
    );
    assert_eq!(validate(action), Verdict::Allow);
    let mut with_reply_to = email("Hello", "Questions? help@acme-support.example");
    if let Some(e) = with_reply_to.email_mut() {
        e.reply_to = Some("help@acme-support.example".to_string());
    }
    assert_eq!(validate(with_reply_to), Verdict::Allow);

    let copy = "Call +1 800 555 0199 or mail sales@eu.acme.example";
    assert_eq!(rules(&validate(ad(copy))), [PII_IN_CONTENT, PII_IN_CONTENT]);
    MockHost::new()
        .config("allowed-email-domains", "acme.example\n")
        .config("allowed-phone-numbers", "1-800-555-0199")
        .install();
    assert_eq!(validate(ad(copy)), Verdict::Allow);
    // A look-alike domain is not the company's.
    assert_eq!(
        rules(&validate(ad("mail x@notacme.example"))),
        [PII_IN_CONTENT]
    );
}

#[test]
fn generic_payloads_are_not_content() {
    MockHost::new().install();
    let action = Action::new(
        "g-1",
        ActionKind::Generic(GenericAction {
            kind: "crm.update-stage".to_string(),
            payload_json: r#"{"email":"ada@example.eu","phone":"+4915100000001"}"#.to_string(),
        }),
    );
    assert_eq!(validate(action), Verdict::Allow);
}

#[test]
fn special_category_targeting() {
    MockHost::new().install();
    let verdict = validate(audience(
        "EU",
        "EU",
        AudienceOperation::Add,
        &[],
        &[
            "interest:running",
            "interest:diabetes",
            "religion:catholic",
            "Trade-Union members",
        ],
    ));
    assert!(
        matches!(verdict, Verdict::Escalate(_)),
        "a person judges Art. 9(2)"
    );
    assert_eq!(rules(&verdict), [SPECIAL_CATEGORY_TARGETING; 3]);
    let f = findings(&verdict);
    assert_eq!(f[0].severity, Severity::Critical);
    assert_eq!(f[0].citation.as_deref(), Some("GDPR Art. 9(1)"));
    assert_eq!(span(f[0]), ("targeting[1].value", 0, 8, "diabetes"));
    assert_eq!(span(f[1]), ("targeting[2].value", 0, 8, "catholic"));
    assert_eq!(span(f[2]), ("targeting[3].value", 0, 11, "Trade-Union"));

    // Whole words only, with a plural.
    for ok in [
        "interest:racing",
        "interest:healthy-recipes",
        "interest:gaya",
        "interest:dnaxis",
    ] {
        let action = audience("EU", "EU", AudienceOperation::Add, &[], &[ok]);
        assert_eq!(validate(action), Verdict::Allow, "{ok}");
    }
    let plural = audience(
        "EU",
        "EU",
        AudienceOperation::Add,
        &[],
        &["segment:Muslims"],
    );
    assert_eq!(
        span(findings(&validate(plural))[0]),
        ("targeting[0].value", 0, 7, "Muslims")
    );
}

#[test]
fn special_categories_are_configurable() {
    MockHost::new()
        .config("special-categories", "Golf\n\n")
        .install();
    let golf = audience("EU", "EU", AudienceOperation::Add, &[], &["interest:golf"]);
    assert_eq!(rules(&validate(golf)), [SPECIAL_CATEGORY_TARGETING]);
    let health = audience(
        "EU",
        "EU",
        AudienceOperation::Add,
        &[],
        &["interest:diabetes"],
    );
    assert_eq!(validate(health.clone()), Verdict::Allow);
    MockHost::new().config("special-categories", "").install();
    assert_eq!(validate(health), Verdict::Allow);
}

#[test]
fn eu_contacts_stay_in_the_eu() {
    MockHost::new().install();
    let verdict = validate(audience("EU", "US", AudienceOperation::Add, &[], &[]));
    assert_eq!(rules(&verdict), [PARTITION]);
    let f = findings(&verdict);
    assert_eq!(f[0].severity, Severity::Critical);
    assert_eq!(span(f[0]), ("platform-region", 0, 2, "US"));

    for op in [AudienceOperation::Replace, AudienceOperation::Export] {
        let action = audience("EU", "APAC", op, &["hashed_email"], &[]);
        assert_eq!(rules(&validate(action)), [PARTITION], "{op:?}");
    }
    // An empty platform region is not the EU.
    assert_eq!(
        rules(&validate(audience(
            "EU",
            "",
            AudienceOperation::Add,
            &[],
            &[]
        ))),
        [PARTITION]
    );
    // Removing contacts sends nothing new.
    assert_eq!(
        validate(audience("EU", "US", AudienceOperation::Remove, &[], &[])),
        Verdict::Allow
    );
    assert_eq!(
        validate(audience("EU", "eu", AudienceOperation::Add, &[], &[])),
        Verdict::Allow
    );
    // US contacts in a US run may go to a US audience...
    assert_eq!(
        validate_in(audience("US", "US", AudienceOperation::Add, &[], &[]), "US"),
        Verdict::Allow
    );
    // ...but a run in the EU partition only has EU contacts, whatever the label.
    let relabelled = audience("US", "US", AudienceOperation::Add, &[], &[]);
    assert_eq!(rules(&validate_in(relabelled, "EU")), [PARTITION]);
}

#[test]
fn exports_send_only_allowed_fields() {
    MockHost::new().install();
    let ok = audience(
        "EU",
        "EU",
        AudienceOperation::Export,
        &["hashed_email", "Country"],
        &[],
    );
    assert_eq!(validate(ok), Verdict::Allow);

    let verdict = validate(audience(
        "EU",
        "EU",
        AudienceOperation::Export,
        &["hashed_email", "email", "phone", "email"],
        &[],
    ));
    assert_eq!(rules(&verdict), [MINIMISATION, MINIMISATION]);
    let Verdict::Modify(m) = &verdict else {
        panic!("extra fields are dropped: {verdict:?}");
    };
    let ActionKind::Audience(fixed) = &m.action.kind else {
        panic!("an audience");
    };
    assert_eq!(fixed.fields, ["hashed_email"]);
    let f = findings(&verdict);
    assert!(f[0].fix.as_deref().unwrap_or("").contains("dropped"));
    assert_eq!(span(f[0]), ("fields[1]", 0, 5, "email"));
    assert_eq!(span(f[1]), ("fields[2]", 0, 5, "phone"));
    assert!(
        f[0].message.contains("may only send hashed_email, country"),
        "{}",
        f[0].message
    );

    // Only exports are checked.
    let add = audience("EU", "EU", AudienceOperation::Add, &["email", "phone"], &[]);
    assert_eq!(validate(add), Verdict::Allow);

    MockHost::new()
        .config("allowed-export-fields", "hashed_email\nhashed_phone")
        .install();
    let phone = audience(
        "EU",
        "EU",
        AudienceOperation::Export,
        &["hashed_phone"],
        &[],
    );
    assert_eq!(validate(phone), Verdict::Allow);
    let country = audience("EU", "EU", AudienceOperation::Export, &["country"], &[]);
    assert_eq!(rules(&validate(country)), [MINIMISATION]);
    MockHost::new()
        .config("allowed-export-fields", "")
        .install();
    let verdict = validate(audience(
        "EU",
        "EU",
        AudienceOperation::Export,
        &["hashed_email"],
        &[],
    ));
    assert!(
        findings(&verdict)[0]
            .message
            .contains("may not send any contact field")
    );
}

#[test]
fn all_audience_rules_together() {
    MockHost::new().install();
    let verdict = validate(audience(
        "EU",
        "US",
        AudienceOperation::Export,
        &["hashed_email", "date_of_birth"],
        &["interest:cancer"],
    ));
    assert!(matches!(verdict, Verdict::Deny(_)));
    assert_eq!(
        rules(&verdict),
        [PARTITION, SPECIAL_CATEGORY_TARGETING, MINIMISATION]
    );
}

#[test]
fn firmographics_are_not_data_about_the_person() {
    MockHost::new().install();
    let mut action = email("Hello", "Hi Ada");
    if let Some(e) = action.email_mut() {
        e.targeting = vec![
            Criterion::organisation("industry", "healthcare"),
            Criterion::organisation("employer", "Cancer Research Institute"),
            Criterion::person("interest", "running"),
        ];
    }
    assert_eq!(validate(action.clone()), Verdict::Allow);
    if let Some(e) = action.email_mut() {
        e.targeting.push(Criterion::person("condition", "diabetes"));
    }
    let verdict = validate(action);
    assert!(matches!(verdict, Verdict::Escalate(_)));
    assert_eq!(
        span(findings(&verdict)[0]),
        ("targeting[3].value", 0, 8, "diabetes")
    );
}

#[test]
fn special_categories_on_a_text_message_go_to_a_person() {
    MockHost::new().install();
    let mut sms = Action::sms(
        "s-1",
        Recipient::contact("c-1"),
        Purpose::Commercial,
        "Spring class schedule is out. STOP to end",
    );
    if let ActionKind::Sms(s) = &mut sms.kind {
        s.targeting = vec![Criterion::person("religion", "muslim")];
    }
    assert_eq!(rules(&validate(sms)), [SPECIAL_CATEGORY_TARGETING]);
}

#[test]
fn no_phone_number_inside_another_identifier() {
    MockHost::new().install();
    for body in [
        "Pay to DE12 3456 7890 12 by Friday.",
        "Ref: 4471-2290-1183",
        "Your order no. 0412 555 123 has shipped.",
        "Invoice #555-123-4567 is attached.",
        "See INV-2026-0412-5567 for details.",
        "Track it at https://acme.example/t/0412-555-123",
    ] {
        assert_eq!(validate(email("Hello", body)), Verdict::Allow, "{body}");
    }
    // A phone number of its own is still found, after any other word.
    let verdict = validate(email("Hello", "Call me on 0412 555 123 today."));
    assert_eq!(rules(&verdict), [PII_IN_CONTENT]);
}

#[test]
fn no_detector_fires_inside_another_identifier() {
    for text in [
        "See INV-2026-0412-5567 for details.",
        "Ref: 4471-2290-1183",
        "Ref:4471-2290-1183",
        "(Ref. 4471-2290-1183)",
        "Invoice no. 0412 555 123 is paid.",
        "Order #555-123-4567 has shipped.",
        "Customer ID: 555 123 4567",
        "Call https://acme.example/call?n=555-123-4567 now",
        "Track www.acme.example/t/0412-555-123.",
        "Prefs at https://acme.example/u?e=ada@example.eu",
        "Pay to DE12 3456 7890 12 by Friday.",
        "SKU-4111111111111111 and item A12-0412-555-123",
        "Booked 2026-01-05, 10:00 (v1.234.567)",
    ] {
        assert_eq!(hits(text), [], "{text:?}");
    }
}

#[test]
fn identifiers_of_their_own_are_still_found() {
    use PiiKind::*;
    let cases: [(&str, &[(PiiKind, &str)]); 9] = [
        (
            "Mail news+4915112345678@sms.example",
            &[(Email, "news+4915112345678@sms.example")],
        ),
        (
            "IBAN DE89 3704 0044 0532 0130 00",
            &[(Iban, "DE89 3704 0044 0532 0130 00")],
        ),
        (
            "Account: DE89 3704 0044 0532 0130 00",
            &[(Iban, "DE89 3704 0044 0532 0130 00")],
        ),
        (
            "IBAN:DE89370400440532013000",
            &[(Iban, "DE89370400440532013000")],
        ),
        (
            "Order 4111 1111 1111 1111",
            &[(Card, "4111 1111 1111 1111")],
        ),
        ("tel:+4915112345678", &[(Phone, "+4915112345678")]),
        ("mailto:bob@example.org", &[(Email, "bob@example.org")]),
        ("(call 555-123-4567 10:00)", &[(Phone, "555-123-4567")]),
        (
            "Ref: 4471-2290-1183, or call 0412 555 123.",
            &[(Phone, "0412 555 123")],
        ),
    ];
    for (text, want) in cases {
        assert_eq!(hits(text), want, "{text:?}");
    }
}
