//! The one approval rule: how many approvers a change needs, by what it is
//! and its risk.

use gatehouse_store::Risk;

/// What waits for approval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Approvable {
    /// A proposed change (skill, pack, prompt, configuration) before its
    /// pilot may start.
    Proposal,
    /// Moving a channel by hand (`promote`).
    Promotion,
    /// An action a governance rule holds (a kind or a cost that needs a
    /// person).
    Action,
}

/// Approvers needed; 0 means it goes ahead at once.
///
/// A proposal is piloted, so anything above low risk needs one approver
/// and a critical one two. A promotion by hand and a held action skip the
/// pilot, so medium risk goes ahead, high needs one approver and critical
/// two.
pub fn approvals_needed(what: Approvable, risk: Risk) -> u8 {
    match (what, risk) {
        (_, Risk::Critical) => 2,
        (_, Risk::High) => 1,
        (Approvable::Proposal, Risk::Medium) => 1,
        (Approvable::Promotion | Approvable::Action, Risk::Medium) => 0,
        (_, Risk::Low) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_approval_rule() {
        use Approvable::*;
        let table = [
            (Proposal, Risk::Low, 0),
            (Proposal, Risk::Medium, 1),
            (Proposal, Risk::High, 1),
            (Proposal, Risk::Critical, 2),
            (Promotion, Risk::Low, 0),
            (Promotion, Risk::Medium, 0),
            (Promotion, Risk::High, 1),
            (Promotion, Risk::Critical, 2),
            (Action, Risk::High, 1),
            (Action, Risk::Critical, 2),
        ];
        for (what, risk, n) in table {
            assert_eq!(approvals_needed(what, risk), n, "{what:?} at {risk:?}");
        }
    }
}
