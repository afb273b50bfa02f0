use crate::support::*;
use gatehouse::pipeline::{self, FAIL_CLOSED, Live, Outcome};
use gatehouse::{ActionKind, Consent, ConsentKind, Kind, Limits};

#[test]
fn the_sample_run_denies_modifies_and_allows() {
    let sandbox = sandbox();
    let skill = load(&sandbox, &guests().skill, Kind::Skill);
    let brand = gatehouse::load_pack(&sandbox, &guests().brand_manifest).unwrap();
    let report = pipeline::run(
        &sandbox,
        &skill,
        &[brand],
        &context(),
        &sample_env(),
        &Limits::default(),
    );
    let act = report.act.as_ref().unwrap();
    assert!(act.error.is_none() && act.skill_error.is_none(), "{act:?}");
    assert!(act.proposed.len() >= 3, "{act:?}");
    let outcomes: Vec<Outcome> = report.decisions.iter().map(|d| d.outcome).collect();
    for wanted in [Outcome::Deny, Outcome::Modify, Outcome::Allow] {
        assert!(outcomes.contains(&wanted), "no {wanted} among {outcomes:?}");
    }
    for d in &report.decisions {
        assert!(!d.fail_closed, "{d:?}");
        // Every blocked or changed action says which rule decided.
        if d.outcome != Outcome::Allow {
            assert!(
                d.findings.iter().all(|f| f.rule.starts_with("brand.")),
                "{:?}",
                d.findings
            );
            assert!(!d.findings.is_empty());
        }
        if d.outcome == Outcome::Modify {
            let fa = d.final_action.as_ref().unwrap();
            assert_eq!(fa.id, d.action.id);
            assert_ne!(fa, &d.action);
            // The modified action was judged again and allowed by every pack.
            assert!(d.packs.iter().any(|p| p.round == 1), "{:?}", d.packs);
        }
        // Recipient facts come from the system of record, not the skill.
        if let ActionKind::Email(e) = &d.action.kind {
            assert!(
                matches!(
                    e.to.consent.kind,
                    ConsentKind::Express | ConsentKind::ExpressWritten | ConsentKind::SoftOptIn
                ),
                "the skill only mails consenting contacts: {:?}",
                e.to.consent
            );
            assert!(!e.to.time_zone.is_empty(), "the time zone is stamped");
            assert_eq!(e.sender.profile, "acme", "the sender is stamped");
            assert!(e.to.address.contains('@'));
            assert_eq!(e.to.region, "EU");
        }
    }
}

#[test]
fn a_failing_pack_blocks_the_action() {
    let sandbox = sandbox();
    let hostile = load(&sandbox, &guests().hostile, Kind::Policy);
    let brand = gatehouse::load_pack(&sandbox, &guests().brand_manifest).unwrap();
    let limits = Limits {
        fuel: Some(5_000_000),
        ..Limits::default()
    };
    for mode in [
        "loop",
        "memory",
        "panic",
        "bad-host-utf8",
        "modify-identity",
    ] {
        let d = pipeline::decide(
            &sandbox,
            &[brand.clone(), hostile.clone()],
            generic(mode),
            &ctx(),
            &offline(),
            &limits,
        );
        assert_eq!(d.outcome, Outcome::Deny, "{mode}");
        assert!(d.fail_closed, "{mode}");
        assert!(
            d.findings
                .iter()
                .any(|f| f.rule == FAIL_CLOSED && f.message.contains("hostile")),
            "{mode}: {:?}",
            d.findings
        );
        let failed = d.packs.iter().find(|p| p.pack.name == "hostile").unwrap();
        assert!(failed.error.is_some() && failed.verdict.is_none(), "{mode}");
    }
    let d = pipeline::decide(
        &sandbox,
        &[hostile],
        generic("behave"),
        &ctx(),
        &offline(),
        &limits,
    );
    assert_eq!(d.outcome, Outcome::Allow);
}

#[test]
fn no_pack_means_deny() {
    let sandbox = sandbox();
    let d = pipeline::decide(
        &sandbox,
        &[],
        generic("behave"),
        &ctx(),
        &offline(),
        &Limits::default(),
    );
    assert_eq!(d.outcome, Outcome::Deny);
    assert!(d.fail_closed);
}

#[test]
fn an_unknown_recipient_is_denied_before_any_pack_runs() {
    let sandbox = sandbox();
    let hostile = load(&sandbox, &guests().hostile, Kind::Policy);
    let mut action = generic("behave");
    action.kind = ActionKind::Email(gatehouse::Email {
        to: gatehouse::Recipient {
            contact_id: "nobody".into(),
            address: "x@example.com".into(),
            region: "EU".into(),
            country: "DE".into(),
            consent: Consent::default(),
            lawful_basis: None,
            relationship: Default::default(),
            time_zone: "Europe/Berlin".into(),
            first_contact: false,
        },
        sender: Default::default(),
        reply_to: None,
        subject: "Hello".into(),
        body: "Hi".into(),
        unsubscribe: None,
        postal_address: None,
        purpose: gatehouse::Purpose::Transactional,
        send_at: None,
        targeting: Vec::new(),
    });
    let env = Live::new(&ctx(), dataset(), senders());
    let report = pipeline::validate_all(
        &sandbox,
        &[hostile],
        vec![action],
        &ctx(),
        &env,
        &Limits::default(),
    );
    let d = &report.decisions[0];
    assert_eq!(d.outcome, Outcome::Deny);
    assert!(
        d.findings
            .iter()
            .any(|f| f.rule == "gatehouse.unknown-recipient")
    );
    assert!(
        d.packs.is_empty(),
        "no pack may see an action with unverified recipient facts"
    );
}

#[test]
fn a_skill_cannot_speak_for_another_agent_or_reuse_an_id() {
    let sandbox = sandbox();
    let hostile = load(&sandbox, &guests().hostile, Kind::Policy);
    let mut other = generic("behave");
    other.agent = "someone-else".into();
    let dup = generic("behave");
    let report = pipeline::validate_all(
        &sandbox,
        &[hostile],
        vec![generic("behave"), dup, other],
        &ctx(),
        &offline(),
        &Limits::default(),
    );
    let outcomes: Vec<Outcome> = report.decisions.iter().map(|d| d.outcome).collect();
    assert_eq!(outcomes, [Outcome::Allow, Outcome::Deny, Outcome::Deny]);
}

#[test]
fn the_same_run_twice_uses_the_same_fuel_and_host_answers() {
    let sandbox = sandbox();
    let skill = load(&sandbox, &guests().skill, Kind::Skill);
    let brand = gatehouse::load_pack(&sandbox, &guests().brand_manifest).unwrap();
    let run = || {
        pipeline::run(
            &sandbox,
            &skill,
            std::slice::from_ref(&brand),
            &context(),
            &sample_env(),
            &Limits::default(),
        )
    };
    let (a, b) = (run(), run());
    let (aa, ba) = (a.act.as_ref().unwrap(), b.act.as_ref().unwrap());
    assert_eq!(aa.metering.fuel_used, ba.metering.fuel_used);
    assert_eq!(aa.metering.host_calls, ba.metering.host_calls);
    assert!(
        !aa.metering.host_calls.is_empty(),
        "the skill retrieves through the host"
    );
    assert_eq!(a.decisions.len(), b.decisions.len());
    for (x, y) in a.decisions.iter().zip(&b.decisions) {
        assert_eq!(
            (x.outcome, &x.findings, &x.final_action),
            (y.outcome, &y.findings, &y.final_action)
        );
        let fuel = |d: &pipeline::Decision| {
            d.packs
                .iter()
                .map(|p| p.metering.fuel_used)
                .collect::<Vec<_>>()
        };
        assert_eq!(fuel(x), fuel(y));
    }
}

#[test]
fn a_reused_instance_gives_the_same_verdicts_as_fresh_ones() {
    let sandbox = sandbox();
    let skill = load(&sandbox, &guests().skill, Kind::Skill);
    let brand = gatehouse::load_pack(&sandbox, &guests().brand_manifest).unwrap();
    let report = pipeline::run(
        &sandbox,
        &skill,
        std::slice::from_ref(&brand),
        &context(),
        &sample_env(),
        &Limits::default(),
    );
    let mut session = sandbox.session(&brand, empty_world(), &Limits::default());
    for d in &report.decisions {
        let fresh = d
            .packs
            .iter()
            .find(|p| p.round == 0)
            .and_then(|p| p.verdict.clone())
            .unwrap();
        assert_eq!(session.validate(&d.action, &context()).result, Ok(fresh));
    }
}

/// Every field a replay compares is named when it alone differs.
#[test]
fn a_replay_names_each_field_that_differs() {
    use gatehouse::replay::first_difference;
    let sandbox = sandbox();
    let skill = load(&sandbox, &guests().skill, Kind::Skill);
    let brand = gatehouse::load_pack(&sandbox, &guests().brand_manifest).unwrap();
    let report = pipeline::run(
        &sandbox,
        &skill,
        &[brand],
        &context(),
        &sample_env(),
        &Limits::default(),
    );
    assert_eq!(first_difference(&report, &report.clone()), None);
    let changed = |f: &dyn Fn(&mut pipeline::RunReport)| {
        let mut other = report.clone();
        f(&mut other);
        first_difference(&report, &other).unwrap_or_default()
    };
    let modified = report
        .decisions
        .iter()
        .position(|d| d.final_action.is_some())
        .expect("the sample has a modification");
    type Change = Box<dyn Fn(&mut pipeline::RunReport)>;
    let cases: Vec<(&str, Change)> = vec![
        ("context", Box::new(|r| r.context.now += 1)),
        ("time zone data", Box::new(|r| r.tzdb = "1999a".into())),
        ("packs", Box::new(|r| r.packs[0].hash = "0".repeat(64))),
        (
            "skill",
            Box::new(|r| r.act.as_mut().unwrap().skill.name = "other".into()),
        ),
        (
            "act result",
            Box::new(|r| {
                r.act.as_mut().unwrap().skill_error =
                    Some(gatehouse::SkillError::Failed("none".into()))
            }),
        ),
        (
            "fuel used",
            Box::new(|r| r.act.as_mut().unwrap().metering.fuel_used += 1),
        ),
        (
            "proposed action 0",
            Box::new(|r| r.act.as_mut().unwrap().proposed[0].rationale.push('!')),
        ),
        (
            "proposed actions",
            Box::new(|r| {
                let a = r.act.as_mut().unwrap();
                let extra = a.proposed[0].clone();
                a.proposed.push(extra);
            }),
        ),
        (
            "decisions",
            Box::new(|r| {
                r.decisions.pop();
            }),
        ),
        (
            "outcome",
            Box::new(|r| r.decisions[0].outcome = Outcome::Escalate),
        ),
        ("findings", Box::new(|r| r.decisions[0].findings.clear())),
        (
            "governance",
            Box::new(|r| {
                r.decisions[0].governance = Some(gatehouse::govern::GovernanceReport {
                    before: Outcome::Allow,
                    findings: Vec::new(),
                    reservation: None,
                    approval: None,
                    exposed: None,
                })
            }),
        ),
        (
            "final action",
            Box::new(move |r| r.decisions[modified].final_action = None),
        ),
        (
            "fail closed",
            Box::new(|r| r.decisions[0].fail_closed = !r.decisions[0].fail_closed),
        ),
        ("pack calls", Box::new(|r| r.decisions[0].packs.clear())),
        (
            "verdict",
            Box::new(|r| r.decisions[0].packs[0].verdict = None),
        ),
        (
            "error",
            Box::new(|r| {
                r.decisions[0].packs[0].error = Some(gatehouse::GuestError::Trap {
                    message: "x".into(),
                })
            }),
        ),
        (
            "peak memory",
            Box::new(|r| r.decisions[0].packs[0].metering.peak_memory_bytes += 1),
        ),
    ];
    for (field, change) in &cases {
        let d = changed(change.as_ref());
        assert!(d.contains(field), "changing {field}: {d:?}");
    }
    // Wall-clock time alone is not a divergence.
    assert_eq!(
        changed(&|r| r.decisions[0].packs[0].metering.duration_us += 1000),
        ""
    );
}
