//! Kill switches, approvals, principals: each change commits with its
//! audit entry.

use crate::{T0, each, newest};
use gatehouse_store::{
    ApprovalError, ApprovalRequest, ApprovalStatus, Change, KillError, Risk, Role,
};

#[test]
fn a_kill_stops_the_agent_and_is_recorded_with_its_entry() {
    each(|name, b, audit| {
        let k = b
            .kill("outreach-eu", &Change::new("ops", "incident", T0))
            .unwrap();
        assert_eq!(
            b.is_killed("outreach-eu").unwrap(),
            Some(k.clone()),
            "{name}"
        );
        assert!(b.is_killed("outreach-us").unwrap().is_none(), "{name}");
        assert_eq!(
            newest(audit, "kill").body,
            serde_json::to_value(&k).unwrap(),
            "{name}"
        );
        let r = b
            .revive("outreach-eu", &Change::new("ops", "fixed", T0 + 1))
            .unwrap();
        assert!(b.is_killed("outreach-eu").unwrap().is_none(), "{name}");
        assert_eq!(
            newest(audit, "revive").body,
            serde_json::to_value(&r).unwrap(),
            "{name}"
        );
        assert!(matches!(
            b.revive("outreach-eu", &Change::new("ops", "again", T0 + 2)),
            Err(KillError::NotKilled { .. })
        ));
        // The global switch stops everyone.
        b.kill("*", &Change::new("ops", "all stop", T0 + 3))
            .unwrap();
        assert!(b.is_killed("anyone").unwrap().is_some(), "{name}");
        assert_eq!(b.kill_history(None).unwrap().len(), 3, "{name}");
        assert!(audit.verify().unwrap().is_ok(), "{name}");
    });
}

#[test]
fn an_approval_needs_someone_else_and_is_released_once() {
    each(|name, b, audit| {
        let subject = serde_json::json!({"action": {"id": "a-1"}});
        let a = b
            .request_approval(&ApprovalRequest {
                subject: &subject,
                risk: Risk::High,
                requested_by: "growth",
                expires_at_ms: T0 + 1000,
                approvals_needed: 1,
                at_ms: T0,
            })
            .unwrap();
        assert_eq!(
            newest(audit, "approval-request").body["id"],
            a.id.0,
            "{name}"
        );
        assert!(matches!(
            b.approve(a.id, &Change::new("growth", "mine", T0)),
            Err(ApprovalError::SelfApproval { .. })
        ));
        let voted = b
            .approve(a.id, &Change::new("ops", "fine", T0 + 1))
            .unwrap();
        assert_eq!(voted.status, ApprovalStatus::Approved, "{name}");
        assert_eq!(
            newest(audit, "approval-vote").body["status"],
            "approved",
            "{name}"
        );
        b.release_approval(a.id, "ops", T0 + 2).unwrap();
        assert!(
            b.release_approval(a.id, "ops", T0 + 3).is_err(),
            "{name}: released twice"
        );
        assert_eq!(
            newest(audit, "approval-release").body["id"],
            a.id.0,
            "{name}"
        );
    });
}

#[test]
fn principals_hold_roles_and_tokens_authenticate_until_revoked() {
    each(|name, b, audit| {
        assert!(b.local_admin().unwrap().has(Role::Admin), "{name}");
        b.add_principal("olga", &[Role::Operator], &Change::new("admin", "hire", T0))
            .unwrap();
        assert_eq!(newest(audit, "principal").body["name"], "olga", "{name}");
        let issued = b
            .issue_token("olga", &Change::new("admin", "token", T0))
            .unwrap();
        let entry = newest(audit, "token-issued");
        assert!(
            !entry.body.to_string().contains(&issued.token),
            "{name}: the secret is never logged"
        );
        let who = b.authenticate(&issued.token).unwrap();
        assert!(who.has(Role::Operator) && !who.has(Role::Admin), "{name}");
        b.revoke_token(&issued.record.id, &Change::new("admin", "left", T0 + 1))
            .unwrap();
        assert!(b.authenticate(&issued.token).is_err(), "{name}");
        assert_eq!(
            newest(audit, "token-revoked").body["id"],
            issued.record.id,
            "{name}"
        );
    });
}
