//! Governance state: kill switches, the approvals queue, principals and tokens.

use super::*;

/// Governance state: kill switches, the approvals queue, principals and tokens.
pub trait Governance {
    /// Stop `agent`, or every agent with `*`, from its very next action:
    /// the pipeline calls [`Self::is_killed`] before each action, in every
    /// process sharing this store, so runs already in progress stop too.
    ///
    /// Killing an agent that is already killed succeeds and records the
    /// new reason (an operator in an incident should never be refused a
    /// kill). Agent names are case-insensitive, stored lowercase.
    fn kill(&self, agent: &str, change: &Change<'_>) -> Result<KillRecord, KillError>;

    /// Lift the kill of `agent`, or the global kill with `*`. Reviving an
    /// agent lifts only its own kill: while `*` is killed, every agent stays
    /// stopped ([`KillError::KilledGlobally`] if the agent had no kill of
    /// its own).
    fn revive(&self, agent: &str, change: &Change<'_>) -> Result<KillRecord, KillError>;

    /// The kill that stops `agent` now, if any: the global kill (`*`) if
    /// set, else the agent's own. One indexed read, no write lock; call it
    /// before every action.
    fn is_killed(&self, agent: &str) -> Result<Option<KillRecord>, KillError>;

    /// Every kill in force (the global one first, then by agent).
    fn kills(&self) -> Result<Vec<KillRecord>, KillError>;

    /// Every kill and revive ever recorded, oldest first (of one agent or
    /// `*`, or all).
    fn kill_history(&self, agent: Option<&str>) -> Result<Vec<KillRecord>, KillError>;

    /// Queue a subject for approval; it starts `pending`. Returns the
    /// request (its id is `.id`).
    fn request_approval(&self, request: &ApprovalRequest<'_>) -> Result<Approval, ApprovalError>;

    /// Approve request `id` as `change.actor`, for `change.reason`, at
    /// `change.at_ms`. Refused for the requester
    /// ([`ApprovalError::SelfApproval`]), for someone who already voted on
    /// it ([`ApprovalError::AlreadyVoted`]), once expired
    /// ([`ApprovalError::Expired`]) or no longer pending. The request is
    /// `approved` once `approvals_needed` distinct people approved it.
    ///
    /// The caller checks the approver's role first
    /// ([`Principal::require`](crate::Principal::require) with
    /// [`Role::Approver`](crate::Role::Approver)) and passes the
    /// authenticated principal's name as the actor.
    fn approve(&self, id: ApprovalId, change: &Change<'_>) -> Result<Approval, ApprovalError>;

    /// Reject request `id`: one rejection is final. The same checks as
    /// [`Self::approve`], except that the requester may reject (withdraw)
    /// their own request.
    fn reject(&self, id: ApprovalId, change: &Change<'_>) -> Result<Approval, ApprovalError>;

    /// Release approved request `id` to the caller, who then acts on its
    /// subject: this succeeds once per request, whatever the number of
    /// threads or processes trying ([`ApprovalError::AlreadyReleased`]
    /// after that). Refused unless approved and unexpired at `at_ms`.
    fn release_approval(
        &self,
        id: ApprovalId,
        released_by: &str,
        at_ms: i64,
    ) -> Result<Approval, ApprovalError>;

    /// Request `id`, with its status as of `now_ms`.
    fn approval(&self, id: ApprovalId, now_ms: i64) -> Result<Approval, ApprovalError>;

    /// The approval queue, oldest first, with statuses as of `now_ms`:
    /// only requests still waiting for a vote (pending and unexpired) if
    /// `pending_only`, else every request.
    fn approvals(&self, pending_only: bool, now_ms: i64) -> Result<Vec<Approval>, ApprovalError>;

    /// The implicit local admin — named [`LOCAL_ADMIN`], holding every
    /// role — for a store where no admin can authenticate yet: no
    /// principal holding `admin` has an unrevoked token. That is the state
    /// of a new store, so the embedded default works out of the box for a
    /// single local user; a CLI asks for it when it was given no token.
    ///
    /// Issuing the first token to an admin closes the bootstrap for good
    /// ([`AuthError::BootstrapClosed`]): the store refuses to revoke the
    /// last admin token or take `admin` from the last principal holding
    /// one ([`AuthError::LastAdmin`]), so it cannot reopen by accident.
    /// Until then, an added principal without an admin token leaves it
    /// open (a crash between adding the first admin and issuing its token
    /// cannot lock everyone out).
    ///
    /// # Example: from the local admin to tokens
    ///
    /// ```
    /// use gatehouse_store::{AuthError, Change, Role, Store};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// let store = Store::open(dir.path())?;
    /// let now = 1_767_607_200_000;
    ///
    /// let local = store.local_admin()?; // no token needed yet
    /// local.require(Role::Admin, "add principals")?;
    /// let by = Change::new(local.name(), "set up", now);
    /// store.add_principal("alice", &[Role::Admin, Role::Operator], &by)?;
    /// store.add_principal("bob", &[Role::Approver], &by)?;
    /// let alice = store.issue_token("alice", &by)?; // show `alice.token` once
    /// let bob = store.issue_token("bob", &by)?;
    ///
    /// assert!(matches!(store.local_admin(), Err(AuthError::BootstrapClosed)));
    /// let bob = store.authenticate(&bob.token)?;
    /// let refused = bob.require(Role::Operator, "kill an agent").unwrap_err();
    /// assert_eq!(refused.to_string(), "principal `bob` lacks role `operator` needed to kill an agent");
    /// assert_eq!(store.authenticate(&alice.token)?.name(), "alice");
    /// # Ok(())
    /// # }
    /// ```
    fn local_admin(&self) -> Result<Principal, AuthError>;

    /// Add principal `name` (a lowercase name, not [`LOCAL_ADMIN`]) with
    /// `roles`. The caller checks that its own principal holds
    /// [`Role::Admin`].
    fn add_principal(
        &self,
        name: &str,
        roles: &[Role],
        change: &Change<'_>,
    ) -> Result<PrincipalChange, AuthError>;

    /// Replace the roles of principal `name` (an empty list leaves it
    /// able to authenticate but not to do anything). Refused if it would
    /// leave no admin with an unrevoked token ([`AuthError::LastAdmin`]).
    fn set_roles(
        &self,
        name: &str,
        roles: &[Role],
        change: &Change<'_>,
    ) -> Result<PrincipalChange, AuthError>;

    /// Every principal, by name.
    fn principals(&self) -> Result<Vec<PrincipalRecord>, AuthError>;

    /// Principal `name`.
    fn principal(&self, name: &str) -> Result<PrincipalRecord, AuthError>;

    /// Issue a new API token for principal `name`: 32 random bytes from the
    /// operating system, as `ght_` and 64 hex digits. Only a blake3 hash
    /// of it is stored; the returned [`IssuedToken`] is the one place the
    /// secret exists. A principal may hold several tokens.
    fn issue_token(&self, name: &str, change: &Change<'_>) -> Result<IssuedToken, AuthError>;

    /// Revoke API token `id`: it stops authenticating at once. Refused if
    /// it is the last unrevoked token of any admin ([`AuthError::LastAdmin`]:
    /// issue the successor first).
    fn revoke_token(&self, id: &str, change: &Change<'_>) -> Result<TokenRecord, AuthError>;

    /// API tokens (of one principal, or all), oldest first; never their
    /// secrets.
    fn tokens(&self, principal: Option<&str>) -> Result<Vec<TokenRecord>, AuthError>;

    /// The principal `token` authenticates, with its roles now.
    /// Surrounding whitespace is ignored (a token file's final newline).
    fn authenticate(&self, token: &str) -> Result<Principal, AuthError>;
}

impl Governance for Store {
    fn kill(&self, agent: &str, change: &Change<'_>) -> Result<KillRecord, KillError> {
        Store::kill(self, agent, change)
    }

    fn revive(&self, agent: &str, change: &Change<'_>) -> Result<KillRecord, KillError> {
        Store::revive(self, agent, change)
    }

    fn is_killed(&self, agent: &str) -> Result<Option<KillRecord>, KillError> {
        Store::is_killed(self, agent)
    }

    fn kills(&self) -> Result<Vec<KillRecord>, KillError> {
        Store::kills(self)
    }

    fn kill_history(&self, agent: Option<&str>) -> Result<Vec<KillRecord>, KillError> {
        Store::kill_history(self, agent)
    }

    fn request_approval(&self, request: &ApprovalRequest<'_>) -> Result<Approval, ApprovalError> {
        Store::request_approval(self, request)
    }

    fn approve(&self, id: ApprovalId, change: &Change<'_>) -> Result<Approval, ApprovalError> {
        Store::approve(self, id, change)
    }

    fn reject(&self, id: ApprovalId, change: &Change<'_>) -> Result<Approval, ApprovalError> {
        Store::reject(self, id, change)
    }

    fn release_approval(
        &self,
        id: ApprovalId,
        released_by: &str,
        at_ms: i64,
    ) -> Result<Approval, ApprovalError> {
        Store::release_approval(self, id, released_by, at_ms)
    }

    fn approval(&self, id: ApprovalId, now_ms: i64) -> Result<Approval, ApprovalError> {
        Store::approval(self, id, now_ms)
    }

    fn approvals(&self, pending_only: bool, now_ms: i64) -> Result<Vec<Approval>, ApprovalError> {
        Store::approvals(self, pending_only, now_ms)
    }

    fn local_admin(&self) -> Result<Principal, AuthError> {
        Store::local_admin(self)
    }

    fn add_principal(
        &self,
        name: &str,
        roles: &[Role],
        change: &Change<'_>,
    ) -> Result<PrincipalChange, AuthError> {
        Store::add_principal(self, name, roles, change)
    }

    fn set_roles(
        &self,
        name: &str,
        roles: &[Role],
        change: &Change<'_>,
    ) -> Result<PrincipalChange, AuthError> {
        Store::set_roles(self, name, roles, change)
    }

    fn principals(&self) -> Result<Vec<PrincipalRecord>, AuthError> {
        Store::principals(self)
    }

    fn principal(&self, name: &str) -> Result<PrincipalRecord, AuthError> {
        Store::principal(self, name)
    }

    fn issue_token(&self, name: &str, change: &Change<'_>) -> Result<IssuedToken, AuthError> {
        Store::issue_token(self, name, change)
    }

    fn revoke_token(&self, id: &str, change: &Change<'_>) -> Result<TokenRecord, AuthError> {
        Store::revoke_token(self, id, change)
    }

    fn tokens(&self, principal: Option<&str>) -> Result<Vec<TokenRecord>, AuthError> {
        Store::tokens(self, principal)
    }

    fn authenticate(&self, token: &str) -> Result<Principal, AuthError> {
        Store::authenticate(self, token)
    }
}
