//! The registry: published artifacts, keys and signatures, the trust policy, channels, locks and references.

use super::*;

/// The registry: published artifacts, keys and signatures, the trust policy, channels, locks and references.
pub trait Registry {
    /// Publish bytes as `name@version` of a kind.
    ///
    /// - The bytes are stored as a blob named by their blake3 (so the same
    ///   bytes published from two stores get the same hash), and the
    ///   artifact row is written in the same `IMMEDIATE` transaction: a crash
    ///   leaves either both or neither.
    /// - Publishing exactly the same artifact again is idempotent and returns
    ///   the original record (`created: false`).
    /// - The same `name@version` with other bytes is refused
    ///   ([`RegistryError::Conflict`] names both hashes): a version, once
    ///   published, means one content forever.
    /// - A name has one kind: publishing `brand` as a skill after it was
    ///   published as a policy-pack is refused, because channels and trust
    ///   policies reason about a name's kind.
    /// - The same bytes may be published under several names or versions.
    fn publish(&self, req: &Publish<'_>) -> Result<Published, RegistryError>;

    /// The artifact `name@version`, with its signatures.
    fn show(&self, name: &str, version: &str) -> Result<Artifact, RegistryError>;

    /// Published artifacts, optionally only of one kind and/or one name,
    /// ordered by name then by semver precedence (oldest first).
    fn list(
        &self,
        kind: Option<ArtifactKind>,
        name: Option<&str>,
    ) -> Result<Vec<Artifact>, RegistryError>;

    /// Register a public key for its team. Idempotent for the same key and
    /// team; a revoked key stays revoked (generate a new one instead).
    fn register_key(&self, key: &PublicKey, at_ms: i64) -> Result<KeyRecord, KeyError>;

    /// Register `new` as the successor of key `old`: same team required.
    /// Both keys count until `old` is revoked with [`Self::revoke_key`],
    /// which leaves time to re-sign with the new key.
    fn rotate_key(&self, old: &KeyId, new: &PublicKey, at_ms: i64) -> Result<KeyRecord, KeyError>;

    /// Revoke a key: from now on none of its signatures count, on any
    /// artifact. Idempotent (the first revocation's time and reason stay).
    fn revoke_key(&self, key_id: &KeyId, change: &Change<'_>) -> Result<KeyRecord, KeyError>;

    /// Every registered key, by team then registration time.
    fn keys(&self) -> Result<Vec<KeyRecord>, KeyError>;

    /// The registered key `key_id`.
    fn key(&self, key_id: &KeyId) -> Result<KeyRecord, KeyError>;

    /// Attach `signature` to `name@version`, after checking it: the key is
    /// registered and not revoked, and the signature verifies over the
    /// artifact's signing message. Checked again at every use
    /// ([`Self::verify`], promote, rollback), so a signature whose key is
    /// later revoked, or whose stored bytes are damaged, stops counting.
    /// Adding the same key's signature again is idempotent.
    fn add_signature(
        &self,
        name: &str,
        version: &str,
        signature: &Signature,
        at_ms: i64,
    ) -> Result<Artifact, SignatureError>;

    /// Replace the trust policy with `text` (TOML, see [`TrustPolicy`]),
    /// after parsing it. The text is kept as a blob and the change recorded;
    /// setting the policy already in force changes nothing and returns its
    /// record. Who may set it is the caller's decision (gate it on a role).
    fn set_trust_policy(
        &self,
        text: &str,
        change: &Change<'_>,
    ) -> Result<TrustPolicyRecord, TrustError>;

    /// The trust policy in force and its record, if one was ever set.
    fn trust_policy(&self) -> Result<Option<(TrustPolicyRecord, TrustPolicy)>, TrustError>;

    /// Check `name@version` against `channel`'s trust policy for its kind.
    /// `Ok` carries the report; an artifact that does not meet the policy
    /// is [`TrustError::Untrusted`], whose message says which requirement
    /// failed (and the report, inside, why each signature did not count).
    fn verify(&self, name: &str, version: &str, channel: &str) -> Result<TrustReport, TrustError>;

    /// Point `channel` at `name@version` for `scope`.
    ///
    /// Refused if the version is older than the one the scope's pointer
    /// holds ([`ChannelError::Downgrade`]: use [`Self::rollback`]), if it is
    /// the same ([`ChannelError::AlreadyOn`]), if the artifact does not meet
    /// the channel's trust policy for its kind ([`TrustError::Untrusted`]),
    /// or if its blob is missing or corrupt (the bytes are re-hashed here,
    /// so a channel is never moved onto damaged content). Other scopes'
    /// pointers are independent.
    ///
    /// # Example: publish → sign → promote → rollback
    ///
    /// ```
    /// use gatehouse_store::{ArtifactKind, Change, KeyPair, Publish, RollbackTo, Scope, Store};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// let store = Store::open(dir.path())?;
    /// let now = 1_767_607_200_000; // the caller's clock, in ms
    ///
    /// // Production policy packs need a signature from legal and one from brand.
    /// let policy = "schema = 1\n[channel.production.policy-pack]\nlegal = 1\nbrand = 1\n";
    /// store.set_trust_policy(policy, &Change::new("admin", "initial policy", now))?;
    /// let legal = KeyPair::generate("legal", "dana@acme.example")?;
    /// let brand = KeyPair::generate("brand", "bo@acme.example")?;
    /// store.register_key(legal.public(), now)?;
    /// store.register_key(brand.public(), now)?;
    ///
    /// for (version, bytes) in [("1.0.0", b"pack v1"), ("1.1.0", b"pack v2")] {
    ///     let kind = ArtifactKind::PolicyPack;
    ///     let publish = Publish { kind, name: "brand", version, bytes, publisher: "ci", at_ms: now };
    ///     let artifact = store.publish(&publish)?.artifact;
    ///     for key in [&legal, &brand] {
    ///         store.add_signature("brand", version, &key.sign(&artifact.id), now)?;
    ///     }
    ///     let why = Change::new("ops", "release", now);
    ///     store.promote("brand", version, "production", &Scope::any(), &why)?;
    /// }
    ///
    /// let why = Change::new("ops", "incident 7", now);
    /// let back = store.rollback("production", "brand", &Scope::any(), &RollbackTo::Previous, &why)?;
    /// assert_eq!(back.to.version.to_string(), "1.0.0");
    /// let running = store.resolve("brand@production", &Scope::any())?;
    /// assert_eq!(store.get(&running.id.hash)?, b"pack v1");
    /// # Ok(())
    /// # }
    /// ```
    fn promote(
        &self,
        name: &str,
        version: &str,
        channel: &str,
        scope: &Scope,
        change: &Change<'_>,
    ) -> Result<ChannelMove, ChannelError>;

    /// Move `channel`'s pointer for `name` at `scope` back: to the target
    /// before the current one ([`RollbackTo::Previous`]), or to a version or
    /// hash this scope has held before. A pointer move: one history row and
    /// one pointer update, nothing rebuilt, copied or rewritten, whatever the
    /// artifact's size. The target's bytes are read once to re-check their
    /// hash (a rollback onto damaged content is refused).
    ///
    /// The target must still meet the channel's trust policy: a rollback
    /// onto an artifact whose only signatures are by a since-revoked key is
    /// refused, because a revoked key may have been compromised.
    fn rollback(
        &self,
        channel: &str,
        name: &str,
        scope: &Scope,
        to: &RollbackTo,
        change: &Change<'_>,
    ) -> Result<ChannelMove, ChannelError>;

    /// Every move of `channel` (of one artifact name, or all), oldest first,
    /// across all scopes.
    fn history(&self, channel: &str, name: Option<&str>) -> Result<Vec<ChannelMove>, ChannelError>;

    /// Every current pointer (of one artifact name, or all), by name,
    /// channel and scope.
    fn pointers(&self, name: Option<&str>) -> Result<Vec<ChannelPointer>, ChannelError>;

    /// Resolve each reference (see [`Self::resolve`]) at `scope` and lock
    /// the results.
    fn lock(&self, references: &[&str], scope: &Scope) -> Result<Lock, LockError>;

    /// Keep a lock in the store, so that [`Blobs::gc`](crate::Blobs::gc) keeps every blob it
    /// names (and the lock's own text). `label` says who holds it (a run
    /// id, a release name). Idempotent; returns the hash of the lock's JSON
    /// text, its handle for [`Self::unregister_lock`].
    fn register_lock(&self, lock: &Lock, label: &str, at_ms: i64) -> Result<Hash, LockError>;

    /// Forget a registered lock: its blobs become collectable unless
    /// something else holds them. Returns whether it was registered.
    fn unregister_lock(&self, lock: &Hash) -> Result<bool, LockError>;

    /// Check a lock against this store: every entry is published with the
    /// same kind and hash, and its blob is present and intact (re-hashed),
    /// so a run from this lock will load exactly these bytes.
    fn verify_lock(&self, lock: &Lock) -> Result<(), LockError>;

    /// Resolve a reference to the exact artifact (kind, name, version, hash,
    /// signatures). `scope` picks the pointer for `name@channel` (most
    /// specific first, see [`Scope::fallbacks`]) and is ignored otherwise.
    ///
    /// A hash published under several names or versions resolves to the
    /// first published of them (earliest time, then name, then version): the
    /// bytes are the same either way.
    fn resolve(&self, reference: &str, scope: &Scope) -> Result<Artifact, ResolveError>;

    /// [`Self::resolve`] for an already parsed [`Reference`].
    fn resolve_ref(&self, reference: &Reference, scope: &Scope) -> Result<Artifact, ResolveError>;
}

impl Registry for Store {
    fn publish(&self, req: &Publish<'_>) -> Result<Published, RegistryError> {
        Store::publish(self, req)
    }

    fn show(&self, name: &str, version: &str) -> Result<Artifact, RegistryError> {
        Store::show(self, name, version)
    }

    fn list(
        &self,
        kind: Option<ArtifactKind>,
        name: Option<&str>,
    ) -> Result<Vec<Artifact>, RegistryError> {
        Store::list(self, kind, name)
    }

    fn register_key(&self, key: &PublicKey, at_ms: i64) -> Result<KeyRecord, KeyError> {
        Store::register_key(self, key, at_ms)
    }

    fn rotate_key(&self, old: &KeyId, new: &PublicKey, at_ms: i64) -> Result<KeyRecord, KeyError> {
        Store::rotate_key(self, old, new, at_ms)
    }

    fn revoke_key(&self, key_id: &KeyId, change: &Change<'_>) -> Result<KeyRecord, KeyError> {
        Store::revoke_key(self, key_id, change)
    }

    fn keys(&self) -> Result<Vec<KeyRecord>, KeyError> {
        Store::keys(self)
    }

    fn key(&self, key_id: &KeyId) -> Result<KeyRecord, KeyError> {
        Store::key(self, key_id)
    }

    fn add_signature(
        &self,
        name: &str,
        version: &str,
        signature: &Signature,
        at_ms: i64,
    ) -> Result<Artifact, SignatureError> {
        Store::add_signature(self, name, version, signature, at_ms)
    }

    fn set_trust_policy(
        &self,
        text: &str,
        change: &Change<'_>,
    ) -> Result<TrustPolicyRecord, TrustError> {
        Store::set_trust_policy(self, text, change)
    }

    fn trust_policy(&self) -> Result<Option<(TrustPolicyRecord, TrustPolicy)>, TrustError> {
        Store::trust_policy(self)
    }

    fn verify(&self, name: &str, version: &str, channel: &str) -> Result<TrustReport, TrustError> {
        Store::verify(self, name, version, channel)
    }

    fn promote(
        &self,
        name: &str,
        version: &str,
        channel: &str,
        scope: &Scope,
        change: &Change<'_>,
    ) -> Result<ChannelMove, ChannelError> {
        Store::promote(self, name, version, channel, scope, change)
    }

    fn rollback(
        &self,
        channel: &str,
        name: &str,
        scope: &Scope,
        to: &RollbackTo,
        change: &Change<'_>,
    ) -> Result<ChannelMove, ChannelError> {
        Store::rollback(self, channel, name, scope, to, change)
    }

    fn history(&self, channel: &str, name: Option<&str>) -> Result<Vec<ChannelMove>, ChannelError> {
        Store::history(self, channel, name)
    }

    fn pointers(&self, name: Option<&str>) -> Result<Vec<ChannelPointer>, ChannelError> {
        Store::pointers(self, name)
    }

    fn lock(&self, references: &[&str], scope: &Scope) -> Result<Lock, LockError> {
        Store::lock(self, references, scope)
    }

    fn register_lock(&self, lock: &Lock, label: &str, at_ms: i64) -> Result<Hash, LockError> {
        Store::register_lock(self, lock, label, at_ms)
    }

    fn unregister_lock(&self, lock: &Hash) -> Result<bool, LockError> {
        Store::unregister_lock(self, lock)
    }

    fn verify_lock(&self, lock: &Lock) -> Result<(), LockError> {
        Store::verify_lock(self, lock)
    }

    fn resolve(&self, reference: &str, scope: &Scope) -> Result<Artifact, ResolveError> {
        Store::resolve(self, reference, scope)
    }

    fn resolve_ref(&self, reference: &Reference, scope: &Scope) -> Result<Artifact, ResolveError> {
        Store::resolve_ref(self, reference, scope)
    }
}
