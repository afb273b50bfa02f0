//! Governance: the kill switch, the approvals queue, principals and tokens.

use super::{Error, Gatehouse, Operation};
use gatehouse_store::{
    Approval, ApprovalId, Change, ChannelMove, IssuedToken, KillRecord, PrincipalChange,
    PrincipalRecord, Role, TokenRecord,
};

/// What releasing an approval handed back.
#[derive(Debug)]
pub enum Released {
    /// An approved promotion: the channel moved now, exactly once.
    Promotion(Box<Approval>, Box<ChannelMove>),
    /// An approved action: the caller may now carry it out, exactly once.
    Action(Approval),
}

impl Gatehouse {
    /// Stop `agent` (or `*`, every agent): its next action is blocked.
    pub fn kill(&self, agent: &str, reason: &str) -> Result<KillRecord, Error> {
        let who = self.authorize(Operation::Kill)?;
        let record = self
            .store
            .kill(agent, &Change::new(&who, reason, self.now()?))?;
        Ok(record)
    }

    /// Lift a kill switch.
    pub fn revive(&self, agent: &str, reason: &str) -> Result<KillRecord, Error> {
        let who = self.authorize(Operation::Revive)?;
        let record = self
            .store
            .revive(agent, &Change::new(&who, reason, self.now()?))?;
        Ok(record)
    }

    /// Approval requests: pending ones, or all.
    pub fn approvals(&self, pending_only: bool) -> Result<Vec<Approval>, Error> {
        self.authorize(Operation::ReadApprovals)?;
        Ok(self.store.approvals(pending_only, self.now()?)?)
    }

    /// One approval request.
    pub fn approval(&self, id: ApprovalId) -> Result<Approval, Error> {
        self.authorize(Operation::ReadApprovals)?;
        Ok(self.store.approval(id, self.now()?)?)
    }

    /// Approve a request (not one's own).
    pub fn approve(&self, id: ApprovalId, reason: &str) -> Result<Approval, Error> {
        let who = self.authorize(Operation::Decide)?;
        let a = self
            .store
            .approve(id, &Change::new(&who, reason, self.now()?))?;
        Ok(a)
    }

    /// Reject a request.
    pub fn reject(&self, id: ApprovalId, reason: &str) -> Result<Approval, Error> {
        let who = self.authorize(Operation::Decide)?;
        let a = self
            .store
            .reject(id, &Change::new(&who, reason, self.now()?))?;
        Ok(a)
    }

    /// Release an approved request, exactly once: a promotion is carried
    /// out now; an action is handed back to the caller.
    pub fn release(&self, id: ApprovalId) -> Result<Released, Error> {
        let who = self.authorize(Operation::Release)?;
        let a = self.store.release_approval(id, &who, self.now()?)?;
        match a.subject.get("promotion").cloned() {
            Some(p) => {
                let moved = self.promote_approved(&who, &a, &p)?;
                Ok(Released::Promotion(Box::new(a), Box::new(moved)))
            }
            None => Ok(Released::Action(a)),
        }
    }

    /// Add a principal with roles.
    pub fn add_principal(&self, name: &str, roles: &[Role]) -> Result<PrincipalChange, Error> {
        let who = self.authorize(Operation::ManagePrincipals)?;
        let change = self.store.add_principal(
            name,
            roles,
            &Change::new(&who, "add principal", self.now()?),
        )?;
        Ok(change)
    }

    /// Principals and their roles.
    pub fn principals(&self) -> Result<Vec<PrincipalRecord>, Error> {
        self.authorize(Operation::ReadPrincipals)?;
        Ok(self.store.principals()?)
    }

    /// Issue an API token for `name`; the secret is in the result only.
    pub fn issue_token(&self, name: &str) -> Result<IssuedToken, Error> {
        let who = self.authorize(Operation::ManageTokens)?;
        let issued = self
            .store
            .issue_token(name, &Change::new(&who, "issue token", self.now()?))?;
        Ok(issued)
    }

    /// Revoke a token by its id.
    pub fn revoke_token(&self, id: &str, reason: &str) -> Result<TokenRecord, Error> {
        let who = self.authorize(Operation::ManageTokens)?;
        let record = self
            .store
            .revoke_token(id, &Change::new(&who, reason, self.now()?))?;
        Ok(record)
    }
}
