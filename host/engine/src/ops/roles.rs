//! The role table: which role each operation needs. Checked by
//! [`super::Gatehouse::authorize`] at the start of every operation.

use gatehouse_store::Role;

/// Every operation of the facade, as the role table names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// Run a skill alone and see what it proposes (records nothing).
    Act,
    /// Judge actions with packs, and record the decisions.
    Validate,
    /// Run a skill, judge its actions, govern and record them.
    Run,
    /// Record what happened after an action.
    RecordOutcome,
    /// Read the audit log: verify, show, export, query.
    ReadAudit,
    /// Re-execute recorded runs.
    Replay,
    /// Re-judge recorded actions with a candidate pack.
    Backtest,
    /// Publish an artifact.
    Publish,
    /// Sign a published artifact.
    Sign,
    /// Read the registry: list, show, verify, history.
    ReadRegistry,
    /// List unreferenced blobs.
    ListGarbage,
    /// Delete unreferenced blobs; manage keys and the trust policy.
    Administer,
    /// Move channels (promote, roll back) and write lock files.
    MoveChannels,
    /// Stop an agent.
    Kill,
    /// Lift a kill switch.
    Revive,
    /// Read the approvals queue.
    ReadApprovals,
    /// Approve or reject a request.
    Decide,
    /// Release an approved action or promotion, exactly once.
    Release,
    /// Propose a change.
    Propose,
    /// Read proposals, pilots, gate checks and the scorecard.
    ReadLearning,
    /// Start a pilot.
    StartPilot,
    /// Roll a pilot back by hand.
    RollBackPilot,
    /// Apply a gate check's decision (ramp, promote, roll back).
    ApplyGate,
    /// Read principals.
    ReadPrincipals,
    /// Add principals and change their roles.
    ManagePrincipals,
    /// Issue and revoke API tokens.
    ManageTokens,
}

impl Operation {
    /// The role the operation needs.
    pub fn role(self) -> Role {
        use Operation::*;
        match self {
            Act | Publish | Sign | Propose => Role::Author,
            Validate | Run | RecordOutcome | MoveChannels | Kill | Revive | Release
            | StartPilot | RollBackPilot | ApplyGate => Role::Operator,
            ReadAudit | Replay | Backtest | ReadRegistry | ListGarbage | ReadApprovals
            | ReadLearning | ReadPrincipals => Role::Auditor,
            Decide => Role::Approver,
            Administer | ManagePrincipals | ManageTokens => Role::Admin,
        }
    }

    /// What the operation does, for "may not …" errors.
    pub fn describe(self) -> &'static str {
        use Operation::*;
        match self {
            Act => "run skills",
            Validate => "record validations",
            Run => "run agents",
            RecordOutcome => "record outcomes",
            ReadAudit => "read the audit log",
            Replay => "replay runs",
            Backtest => "backtest packs",
            Publish => "publish",
            Sign => "sign",
            ReadRegistry => "read the registry",
            ListGarbage => "list unreferenced blobs",
            Administer => "manage keys, trust and storage",
            MoveChannels => "move channels and lock",
            Kill => "kill agents",
            Revive => "revive agents",
            ReadApprovals => "list approvals",
            Decide => "decide approvals",
            Release => "release approved actions",
            Propose => "propose changes",
            ReadLearning => "read proposals, pilots and the scorecard",
            StartPilot => "start pilots",
            RollBackPilot => "roll back pilots",
            ApplyGate => "apply gate decisions",
            ReadPrincipals => "list principals",
            ManagePrincipals => "add principals",
            ManageTokens => "issue and revoke tokens",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Operation::*;
    use gatehouse_store::Role;

    #[test]
    fn writers_of_state_need_their_role_and_readers_the_auditors() {
        for op in [
            Run,
            Validate,
            Kill,
            Revive,
            MoveChannels,
            Release,
            ApplyGate,
        ] {
            assert_eq!(op.role(), Role::Operator, "{op:?}");
        }
        for op in [Publish, Sign, Propose] {
            assert_eq!(op.role(), Role::Author, "{op:?}");
        }
        assert_eq!(Decide.role(), Role::Approver);
        for op in [Administer, ManagePrincipals, ManageTokens] {
            assert_eq!(op.role(), Role::Admin, "{op:?}");
        }
        for op in [ReadAudit, Replay, Backtest, ReadRegistry, ReadLearning] {
            assert_eq!(op.role(), Role::Auditor, "{op:?}");
        }
    }

    #[test]
    fn every_operation_says_what_it_does() {
        for op in [Act, Run, Kill, Decide, ManageTokens] {
            assert!(!op.describe().is_empty());
        }
    }
}
