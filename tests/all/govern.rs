use crate::support::*;
use gatehouse::govern::{GovernanceConfig, Governor};
use gatehouse::pipeline::{self, Decision, Live, Outcome};
use gatehouse::{ActionKind, Kind, Limits};
use gatehouse_store::{ApprovalId, Change, Store, Window};
use std::sync::Arc;

fn store(dir: &std::path::Path) -> Arc<Store> {
    Arc::new(Store::open(dir).unwrap())
}

fn config(text: &str) -> GovernanceConfig {
    GovernanceConfig::parse(&format!("schema = 1\n[agent.outreach-eu]\n{text}")).unwrap()
}

/// The sample run, governed.
fn governed_run(store: &Arc<Store>, config: GovernanceConfig) -> pipeline::RunReport {
    let sandbox = sandbox();
    let skill = load(&sandbox, &guests().skill, Kind::Skill);
    let brand = gatehouse::load_pack(&sandbox, &guests().brand_manifest).unwrap();
    let env = Live::new(&context(), dataset(), senders()).governed(Governor::new(
        store.clone(),
        config,
        "tester",
    ));
    pipeline::run(
        &sandbox,
        &skill,
        &[brand],
        &context(),
        &env,
        &Limits::default(),
    )
}

fn guards(d: &Decision) -> Vec<&str> {
    d.governance
        .iter()
        .flat_map(|g| &g.findings)
        .map(|f| f.rule.as_str())
        .collect()
}

#[test]
fn frequency_caps_hold_across_runs_and_blocked_actions_consume_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let first = governed_run(
        &store,
        config("email-per-contact = { max = 1, window-days = 7 }"),
    );
    let passed = first
        .decisions
        .iter()
        .filter(|d| matches!(d.outcome, Outcome::Allow | Outcome::Modify))
        .count();
    assert!(passed > 0);
    // The pack-denied action never reached governance and holds no charge.
    for d in first.decisions.iter().filter(|d| d.governance.is_none()) {
        assert_eq!(d.outcome, Outcome::Deny);
        let contact = d.action.recipient().unwrap().contact_id.clone();
        assert_eq!(
            store
                .usage(
                    &format!("freq/email/contact/{contact}"),
                    Window::Total,
                    context().now
                )
                .unwrap(),
            0
        );
    }
    let second = governed_run(
        &store,
        config("email-per-contact = { max = 1, window-days = 7 }"),
    );
    for (a, b) in first.decisions.iter().zip(&second.decisions) {
        if matches!(a.outcome, Outcome::Allow | Outcome::Modify) {
            assert_eq!(b.outcome, Outcome::Deny, "{}", b.action.id);
            assert_eq!(guards(b), ["govern.frequency"]);
        }
    }
}

#[test]
fn budgets_stop_spending_at_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    // Each email is estimated at 1,000 micros: three fit in 3,000.
    let report = governed_run(&store, config("spend-per-day-micros = 3_000"));
    let allowed: Vec<_> = report
        .decisions
        .iter()
        .filter(|d| matches!(d.outcome, Outcome::Allow | Outcome::Modify))
        .collect();
    assert_eq!(
        allowed.len(),
        3,
        "{:?}",
        report
            .decisions
            .iter()
            .map(|d| (d.outcome, guards(d)))
            .collect::<Vec<_>>()
    );
    assert!(
        report
            .decisions
            .iter()
            .any(|d| guards(d) == ["govern.budget"])
    );
}

#[test]
fn the_kill_switch_stops_the_next_action_even_mid_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let sandbox = sandbox();
    let brand = gatehouse::load_pack(&sandbox, &guests().brand_manifest).unwrap();
    let governor = Governor::new(store.clone(), config(""), "tester");
    let ctx = context();
    let env = Live::unstamped(&ctx, dataset());
    let action = |id: &str| {
        let mut a = sandbox_action();
        a.id = id.into();
        a
    };
    let mut first = pipeline::decide(
        &sandbox,
        std::slice::from_ref(&brand),
        action("a-1"),
        &ctx,
        &env,
        &Limits::default(),
    );
    governor.govern(&ctx, &mut first);
    assert_eq!(first.outcome, Outcome::Allow);
    store
        .kill(
            "outreach-eu",
            &Change::new("operator", "sending to the wrong list", 1),
        )
        .unwrap();
    let mut second = pipeline::decide(
        &sandbox,
        std::slice::from_ref(&brand),
        action("a-2"),
        &ctx,
        &env,
        &Limits::default(),
    );
    governor.govern(&ctx, &mut second);
    assert_eq!(second.outcome, Outcome::Deny);
    assert_eq!(guards(&second), ["govern.kill-switch"]);
    store
        .revive("outreach-eu", &Change::new("operator", "fixed", 2))
        .unwrap();
    store
        .kill("*", &Change::new("operator", "incident", 3))
        .unwrap();
    let mut third = pipeline::decide(
        &sandbox,
        std::slice::from_ref(&brand),
        action("a-3"),
        &ctx,
        &env,
        &Limits::default(),
    );
    governor.govern(&ctx, &mut third);
    assert_eq!(
        guards(&third),
        ["govern.kill-switch"],
        "a global kill stops every agent"
    );
}

/// A clean email the brand pack allows.
fn sandbox_action() -> gatehouse::Action {
    let text = std::fs::read_to_string(root().join("examples/data/actions.jsonl")).unwrap();
    let mut a: gatehouse::Action = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    a.evidence.clear();
    a
}

#[test]
fn evidence_partition_and_quiet_hours_are_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let ctx = context();
    let governor = Governor::new(
        store.clone(),
        config("sensitive-kinds = [\"email\"]\nsms-hours = { from = 8, to = 21 }"),
        "tester",
    );
    let allowed = |action: gatehouse::Action| Decision {
        action,
        outcome: Outcome::Allow,
        final_action: None,
        findings: Vec::new(),
        fail_closed: false,
        packs: Vec::new(),
        governance: None,
    };
    // Cited evidence that was never retrieved: deny.
    let mut a = sandbox_action();
    a.evidence = vec!["c-999".into()];
    let mut d = allowed(a);
    governor.govern(&ctx, &mut d);
    assert_eq!(guards(&d), ["govern.evidence"]);
    // A sensitive kind without evidence: deny.
    let mut d = allowed(sandbox_action());
    governor.govern(&ctx, &mut d);
    assert_eq!(guards(&d), ["govern.evidence"]);
    // Outside the run's partition: deny.
    let mut a = sandbox_action();
    a.region = "US".into();
    let mut d = allowed(a);
    governor.govern(&ctx, &mut d);
    assert_eq!(guards(&d), ["govern.partition"]);
    // SMS at 21:30 recipient time: deny; at 10:00: allow.
    let sms = |zone: &str| {
        let mut a = sandbox_action();
        let to = match &a.kind {
            ActionKind::Email(e) => e.to.clone(),
            _ => unreachable!(),
        };
        a.kind = ActionKind::Sms(gatehouse::Sms {
            to: gatehouse::Recipient {
                time_zone: zone.into(),
                ..to
            },
            sender: Default::default(),
            body: "Hi. Reply STOP to opt out.".into(),
            purpose: gatehouse::Purpose::Commercial,
            send_at: None,
            targeting: Vec::new(),
        });
        a
    };
    // ctx.now is 2026-01-05 10:00 UTC: in Pacific/Kiritimati (UTC+14) it
    // is 00:00 on the 6th.
    let mut late = allowed(sms("Pacific/Kiritimati"));
    governor.govern(&ctx, &mut late);
    assert_eq!(guards(&late), ["govern.quiet-hours"]);
    // Rescheduled into the window (09:00 local on the 6th), it is fine.
    let mut moved = sms("Pacific/Kiritimati");
    if let ActionKind::Sms(s) = &mut moved.kind {
        s.send_at = Some(ctx.now + 9 * 3_600_000);
    }
    let mut moved = allowed(moved);
    governor.govern(&ctx, &mut moved);
    assert_eq!(moved.outcome, Outcome::Allow, "{:?}", guards(&moved));
    let mut fine = allowed(sms("Etc/UTC"));
    governor.govern(&ctx, &mut fine);
    assert_eq!(fine.outcome, Outcome::Allow, "{:?}", guards(&fine));
}

#[test]
fn costly_actions_wait_for_an_approver_who_is_not_the_requester() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let report = governed_run(
        &store,
        config("approval-above-micros = 1_000\ncritical-above-micros = 1_000_000"),
    );
    let held: Vec<&Decision> = report
        .decisions
        .iter()
        .filter(|d| d.outcome == Outcome::Escalate)
        .collect();
    assert!(!held.is_empty());
    let id = ApprovalId(held[0].governance.as_ref().unwrap().approval.unwrap());
    let now = context().now;
    // No self-approval: the governor requested it as `tester`.
    assert!(
        store
            .approve(id, &Change::new("tester", "mine", now))
            .is_err()
    );
    store
        .approve(id, &Change::new("legal-reviewer", "looks fine", now))
        .unwrap();
    let released = store.release_approval(id, "operator", now).unwrap();
    assert_eq!(
        released.subject["action"]["id"],
        serde_json::json!(held[0].action.id)
    );
    assert!(
        store.release_approval(id, "operator", now).is_err(),
        "an approved action is released exactly once"
    );
    // Expired requests cannot be approved.
    let other = ApprovalId(held[1].governance.as_ref().unwrap().approval.unwrap());
    assert!(
        store
            .approve(
                other,
                &Change::new("legal-reviewer", "late", now + 4 * 86_400_000)
            )
            .is_err()
    );
}

#[test]
fn an_exposure_cap_keeps_most_contacts_on_the_control() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let skill = blake3::hash(&std::fs::read(&guests().skill).unwrap())
        .to_hex()
        .to_string();
    let report = governed_run(
        &store,
        config(&format!(
            "sends-per-day = 100\nexposure = {{ candidate = \"{skill}\", percent = 0 }}"
        )),
    );
    for d in report.decisions.iter().filter(|d| d.governance.is_some()) {
        assert_eq!(guards(d), ["govern.exposure"], "{}", d.action.id);
    }
    // Blocked after reserving nothing that stays: sends were released.
    assert_eq!(
        store
            .usage(
                "sends/agent/outreach-eu/day/20458",
                Window::Total,
                context().now
            )
            .unwrap(),
        0
    );
}

#[test]
fn a_governed_run_replays_identically() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let sandbox = sandbox();
    let skill = load(&sandbox, &guests().skill, Kind::Skill);
    let brand = gatehouse::load_pack(&sandbox, &guests().brand_manifest).unwrap();
    let report = governed_run(
        &store,
        config("email-per-contact = { max = 1, window-days = 7 }"),
    );
    let record = gatehouse::replay::RunRecord::new(report, Limits::default());
    // The counters have moved on since; replay serves the recorded governance.
    let outcome = gatehouse::replay::replay(&sandbox, Some(&skill), &[brand], &record);
    assert_eq!(outcome.divergence, None);
}

#[test]
fn malformed_governance_is_refused_with_line_and_field() {
    let err = GovernanceConfig::parse("schema = 1\n[agent.a]\nspend-per-day = 5\n").unwrap_err();
    assert!(
        err.starts_with("line 3") && err.contains("spend-per-day"),
        "{err}"
    );
    let err = GovernanceConfig::parse("schema = 1\n[agent.a]\nsms-hours = { from = 21, to = 8 }\n")
        .unwrap_err();
    assert!(err.contains("sms-hours"), "{err}");
    assert!(
        GovernanceConfig::parse("schema = 2\n")
            .unwrap_err()
            .contains("schema 2")
    );
}

#[test]
fn a_campaign_budget_holds_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    // The sample context's campaign is `spring-launch`; emails cost 1,000 micros.
    let first = governed_run(&store, config("spend-per-campaign-micros = 4_000"));
    let spent = first
        .decisions
        .iter()
        .filter(|d| matches!(d.outcome, Outcome::Allow | Outcome::Modify))
        .count();
    assert_eq!(
        spent,
        4,
        "{:?}",
        first
            .decisions
            .iter()
            .map(|d| guards(d))
            .collect::<Vec<_>>()
    );
    let second = governed_run(&store, config("spend-per-campaign-micros = 4_000"));
    assert!(second.decisions.iter().all(|d| d.outcome == Outcome::Deny));
    assert!(
        second
            .decisions
            .iter()
            .any(|d| guards(d) == ["govern.budget"])
    );
}
