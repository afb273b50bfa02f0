//! The registry: publish, sign, promote (with the approval rule), roll
//! back, keys, trust policy, locks, and reading it all.

use super::approval::{Approvable, approvals_needed};
use super::{Error, Gatehouse, Operation};
use crate::{Describe, Kind};
use gatehouse_store::{
    Approval, ApprovalRequest, Artifact, ArtifactKind, Change, ChannelMove, ChannelPointer,
    GcReport, KeyId, KeyPair, KeyRecord, Lock, PublicKey, Publish, Published, Risk, RollbackTo,
    Scope, TrustPolicyRecord, TrustReport,
};
use std::path::Path;

/// What to publish: a file's bytes, with its kind, name and version when
/// the file does not say them itself (a component describes itself).
pub struct PublishRequest<'a> {
    /// The bytes.
    pub bytes: &'a [u8],
    /// A label for errors (the file name).
    pub label: &'a str,
    /// skill, policy-pack, config or prompt; a component's own by default.
    pub kind: Option<&'a str>,
    /// The name; a component's own by default.
    pub name: Option<&'a str>,
    /// The version; a component's own by default.
    pub version: Option<&'a str>,
}

/// What a promotion did: moved the channel, or asked for approval first.
#[derive(Debug)]
pub enum Promotion {
    /// The channel moved.
    Moved(ChannelMove),
    /// The move waits for approvers; release it once approved.
    Waiting(Approval),
}

/// Split `name@version`.
pub fn split_version(reference: &str) -> Result<(&str, &str), Error> {
    reference
        .split_once('@')
        .ok_or_else(|| Error::Invalid(format!("`{reference}`: expected name@version")))
}

/// How long a promotion's approval request stays open.
const APPROVAL_TTL_MS: i64 = 3 * 86_400_000;

impl Gatehouse {
    /// Publish an artifact; `created` is false when the same bytes were
    /// already published under that name and version.
    pub fn publish(&self, req: &PublishRequest<'_>) -> Result<Published, Error> {
        let who = self.authorize(Operation::Publish)?;
        let described = if req.bytes.starts_with(b"\0asm") {
            Some(self.sandbox()?.load(req.bytes, req.label, None)?)
        } else {
            None
        };
        let kind = match (req.kind, &described) {
            (Some(k), _) => k
                .parse::<ArtifactKind>()
                .map_err(|e| Error::Invalid(e.to_string()))?,
            (None, Some(g)) if g.kind == Kind::Skill => ArtifactKind::Skill,
            (None, Some(_)) => ArtifactKind::PolicyPack,
            (None, None) => {
                return Err(Error::Invalid(format!(
                    "`{}` is not a component: say --kind config or --kind prompt",
                    req.label
                )));
            }
        };
        let own = described.as_ref().map(|g| {
            let version = match &g.describe {
                Describe::Policy(p) => p.version.clone(),
                Describe::Skill(s) => s.version.clone(),
            };
            (g.own_name().to_string(), version)
        });
        let name = req
            .name
            .map(str::to_string)
            .or_else(|| own.as_ref().map(|o| o.0.clone()))
            .ok_or_else(|| {
                Error::Invalid("--name is required for a file that is not a component".into())
            })?;
        let version = req
            .version
            .map(str::to_string)
            .or_else(|| own.as_ref().map(|o| o.1.clone()))
            .ok_or_else(|| {
                Error::Invalid("--version is required for a file that is not a component".into())
            })?;
        let published = self.store.publish(&Publish {
            kind,
            name: &name,
            version: &version,
            bytes: req.bytes,
            publisher: &who,
            at_ms: self.now()?,
        })?;
        Ok(published)
    }

    /// Sign `name@version` with a key pair; returns the signed artifact.
    pub fn sign(&self, reference: &str, key: &KeyPair) -> Result<Artifact, Error> {
        self.authorize(Operation::Sign)?;
        let (name, version) = split_version(reference)?;
        let artifact = self.store.show(name, version)?;
        let signature = key.sign(&artifact.id);
        let signed = self
            .store
            .add_signature(name, version, &signature, self.now()?)?;
        Ok(signed)
    }

    /// Move `channel` to `name@version` in `scope`; from high risk on, the
    /// move waits for approvers ([`approvals_needed`]) and is checked now
    /// for what can be checked (trust, downgrade).
    pub fn promote(
        &self,
        reference: &str,
        channel: &str,
        scope: &Scope,
        reason: &str,
        risk: Risk,
    ) -> Result<Promotion, Error> {
        let who = self.authorize(Operation::MoveChannels)?;
        let (name, version) = split_version(reference)?;
        let now = self.now()?;
        let needed = approvals_needed(Approvable::Promotion, risk);
        if needed > 0 {
            self.store.verify(name, version, channel)?;
            let subject = serde_json::json!({"promotion": {"reference": reference, "channel": channel,
                "agent": scope.agent, "partition": scope.partition, "reason": reason}});
            let approval = self.store.request_approval(&ApprovalRequest {
                subject: &subject,
                risk,
                requested_by: &who,
                expires_at_ms: now + APPROVAL_TTL_MS,
                approvals_needed: needed,
                at_ms: now,
            })?;
            return Ok(Promotion::Waiting(approval));
        }
        let moved = self.store.promote(
            name,
            version,
            channel,
            scope,
            &Change::new(&who, reason, now),
        )?;
        Ok(Promotion::Moved(moved))
    }

    /// Carry out an approved promotion (from its approval's subject).
    pub(crate) fn promote_approved(
        &self,
        who: &str,
        approval: &Approval,
        promotion: &serde_json::Value,
    ) -> Result<ChannelMove, Error> {
        let text = |k: &str| -> Result<String, Error> {
            promotion[k].as_str().map(str::to_string).ok_or_else(|| {
                Error::Invalid(format!(
                    "approval #{}: the promotion has no `{k}`",
                    approval.id.0
                ))
            })
        };
        let reference = text("reference")?;
        let (name, version) = split_version(&reference)?;
        let scope = Scope::new(&text("agent")?, &text("partition")?)?;
        let reason = format!("{} (approval #{})", text("reason")?, approval.id.0);
        let moved = self.store.promote(
            name,
            version,
            &text("channel")?,
            &scope,
            &Change::new(who, &reason, self.now()?),
        )?;
        Ok(moved)
    }

    /// Move `channel` of `name` back (to the previous version by default).
    pub fn rollback(
        &self,
        name: &str,
        channel: &str,
        scope: &Scope,
        to: &RollbackTo,
        reason: &str,
    ) -> Result<ChannelMove, Error> {
        let who = self.authorize(Operation::MoveChannels)?;
        let moved = self.store.rollback(
            channel,
            name,
            scope,
            to,
            &Change::new(&who, reason, self.now()?),
        )?;
        Ok(moved)
    }

    /// Resolve references in `scope` into a lock, write it to `output` and
    /// register it; returns the lock and its hash.
    pub fn write_lock(
        &self,
        references: &[&str],
        scope: &Scope,
        output: &Path,
    ) -> Result<(Lock, gatehouse_store::Hash), Error> {
        self.authorize(Operation::MoveChannels)?;
        let lock = self.store.lock(references, scope)?;
        lock.write(output)?;
        let hash = self
            .store
            .register_lock(&lock, &output.display().to_string(), self.now()?)?;
        Ok((lock, hash))
    }

    /// Published artifacts, optionally of one kind or name.
    pub fn artifacts(
        &self,
        kind: Option<&str>,
        name: Option<&str>,
    ) -> Result<Vec<Artifact>, Error> {
        self.authorize(Operation::ReadRegistry)?;
        let kind = kind
            .map(|k| {
                k.parse::<ArtifactKind>()
                    .map_err(|e| Error::Invalid(e.to_string()))
            })
            .transpose()?;
        Ok(self.store.list(kind, name)?)
    }

    /// One artifact and the channels pointing at it.
    pub fn artifact(&self, reference: &str) -> Result<(Artifact, Vec<ChannelPointer>), Error> {
        self.authorize(Operation::ReadRegistry)?;
        let (name, version) = split_version(reference)?;
        let a = self.store.show(name, version)?;
        let pointers = self
            .store
            .pointers(Some(name))?
            .into_iter()
            .filter(|p| p.to.hash == a.id.hash)
            .collect();
        Ok((a, pointers))
    }

    /// Check `name@version` against the trust policy of `channel`.
    pub fn verify_artifact(&self, reference: &str, channel: &str) -> Result<TrustReport, Error> {
        self.authorize(Operation::ReadRegistry)?;
        let (name, version) = split_version(reference)?;
        Ok(self.store.verify(name, version, channel)?)
    }

    /// The moves of `channel` (of one artifact name, or all).
    pub fn channel_history(
        &self,
        channel: &str,
        name: Option<&str>,
    ) -> Result<Vec<ChannelMove>, Error> {
        self.authorize(Operation::ReadRegistry)?;
        Ok(self.store.history(channel, name)?)
    }

    /// Unreferenced blobs; with `delete`, remove them.
    pub fn gc(&self, delete: bool) -> Result<GcReport, Error> {
        self.authorize(if delete {
            Operation::Administer
        } else {
            Operation::ListGarbage
        })?;
        Ok(self.store.gc(!delete)?)
    }

    /// Register a public key (replacing `replaces` when rotating).
    pub fn add_key(&self, key: &PublicKey, replaces: Option<&str>) -> Result<KeyRecord, Error> {
        self.authorize(Operation::Administer)?;
        let now = self.now()?;
        let record = match replaces {
            Some(old) => {
                let old = old
                    .parse::<KeyId>()
                    .map_err(|e| Error::Invalid(e.to_string()))?;
                self.store.rotate_key(&old, key, now)?
            }
            None => self.store.register_key(key, now)?,
        };
        Ok(record)
    }

    /// Revoke a key.
    pub fn revoke_key(&self, key_id: &str, reason: &str) -> Result<KeyRecord, Error> {
        let who = self.authorize(Operation::Administer)?;
        let id: KeyId = key_id.parse()?;
        let record = self
            .store
            .revoke_key(&id, &Change::new(&who, reason, self.now()?))?;
        Ok(record)
    }

    /// Registered keys.
    pub fn keys(&self) -> Result<Vec<KeyRecord>, Error> {
        self.authorize(Operation::Administer)?;
        Ok(self.store.keys()?)
    }

    /// Set the trust policy from its TOML text.
    pub fn set_trust_policy(&self, text: &str, reason: &str) -> Result<TrustPolicyRecord, Error> {
        let who = self.authorize(Operation::Administer)?;
        let record = self
            .store
            .set_trust_policy(text, &Change::new(&who, reason, self.now()?))?;
        Ok(record)
    }

    /// The trust policy in force and its text.
    pub fn trust_policy(&self) -> Result<Option<(TrustPolicyRecord, String)>, Error> {
        self.authorize(Operation::ReadRegistry)?;
        match self.store.trust_policy()? {
            Some((record, _)) => {
                let text = String::from_utf8_lossy(&self.store.get(&record.hash)?).into_owned();
                Ok(Some((record, text)))
            }
            None => Ok(None),
        }
    }
}
