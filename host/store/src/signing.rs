//! Signing: ed25519 key pairs, key files, signatures over an artifact's
//! identity, and the keys registered in the store with their team.

use crate::db::{Schema, Store};
use crate::input::{Change, check_name};
use crate::keys::mismatch;
pub use crate::keys::{KeyError, KeyId, KeyPair, PublicKey, Signature, SignatureError};
use crate::registry::{self, Artifact, ArtifactId, RegistryError};
use ed25519_dalek::VerifyingKey;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

pub(crate) static SCHEMA: Schema = Schema {
    module: "signing",
    migrations: &[r#"
        CREATE TABLE keys (
            key_id TEXT PRIMARY KEY NOT NULL,
            public_key TEXT NOT NULL UNIQUE,
            team TEXT NOT NULL,
            owner TEXT NOT NULL,
            registered_ms INTEGER NOT NULL,
            -- The key this one rotates (same team), if any.
            replaces TEXT REFERENCES keys (key_id),
            -- Set once, never cleared: a revoked key stays revoked.
            revoked_ms INTEGER,
            revoked_by TEXT,
            revoke_reason TEXT
        );
        CREATE TABLE signatures (
            name TEXT NOT NULL,
            version TEXT NOT NULL,
            key_id TEXT NOT NULL REFERENCES keys (key_id),
            -- 128 hex: the ed25519 signature of the artifact's signing message.
            signature TEXT NOT NULL,
            added_ms INTEGER NOT NULL,
            PRIMARY KEY (name, version, key_id),
            FOREIGN KEY (name, version) REFERENCES artifacts (name, version)
        );
    "#],
    backfill: None,
};

/// A key's revocation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// When (milliseconds since the Unix epoch).
    pub at_ms: i64,
    /// Who revoked it.
    pub actor: String,
    /// Why.
    pub reason: String,
}

/// A key as the store knows it. Returned by every key operation so the
/// caller can append it to the audit log.
///
/// # Revocation and rotation
///
/// A revoked key's signatures stop counting everywhere, whatever their age:
/// a signature carries no trustworthy time, so one made before a compromise
/// cannot be told from a forgery made after it. To rotate, register the
/// successor with [`Store::rotate_key`] (same team), re-sign what must stay
/// promotable, then [`Store::revoke_key`] the old key; until it is revoked,
/// both keys count (a grace period for re-signing).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// The key's id.
    pub key_id: KeyId,
    /// Its team.
    pub team: String,
    /// Who holds it.
    pub owner: String,
    /// The public key, 64 hex.
    pub public_key: String,
    /// When it was registered.
    pub registered_ms: i64,
    /// The key it rotated, if it was registered by [`Store::rotate_key`].
    pub replaces: Option<KeyId>,
    /// Its revocation, if revoked.
    pub revoked: Option<Revocation>,
}

const KEY_COLUMNS: &str = "key_id, team, owner, public_key, registered_ms, replaces, revoked_ms, revoked_by, revoke_reason";

fn key_row(r: &Row<'_>) -> rusqlite::Result<KeyRecord> {
    let revoked_ms: Option<i64> = r.get(6)?;
    Ok(KeyRecord {
        key_id: KeyId::from_db(r.get(0)?),
        team: r.get(1)?,
        owner: r.get(2)?,
        public_key: r.get(3)?,
        registered_ms: r.get(4)?,
        replaces: r.get::<_, Option<String>>(5)?.map(KeyId::from_db),
        revoked: match revoked_ms {
            Some(at_ms) => Some(Revocation {
                at_ms,
                actor: r.get::<_, Option<String>>(7)?.unwrap_or_default(),
                reason: r.get::<_, Option<String>>(8)?.unwrap_or_default(),
            }),
            None => None,
        },
    })
}

pub(crate) fn key_in(conn: &Connection, key_id: &KeyId) -> rusqlite::Result<Option<KeyRecord>> {
    conn.query_row(
        &format!("SELECT {KEY_COLUMNS} FROM keys WHERE key_id = ?1"),
        [key_id.as_str()],
        key_row,
    )
    .optional()
}

/// How a stored signature fares against the keys registered now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "status")]
pub enum SignatureStatus {
    /// Verifies, by a registered key that is not revoked.
    Valid,
    /// By a revoked key: does not count, whatever its validity.
    Revoked {
        /// When the key was revoked.
        revoked_ms: i64,
    },
    /// Does not verify over this artifact (damaged bytes, other content).
    Invalid,
    /// By a key that is not registered.
    UnknownKey,
}

/// Judge one stored signature of `artifact` against the registered keys.
/// Returns the key's team (if the key is known) and the status.
pub(crate) fn judge_in(
    conn: &Connection,
    artifact: &ArtifactId,
    signature: &Signature,
) -> rusqlite::Result<(Option<String>, SignatureStatus)> {
    let Some(key) = key_in(conn, &signature.key_id)? else {
        return Ok((None, SignatureStatus::UnknownKey));
    };
    if let Some(revoked) = &key.revoked {
        return Ok((
            Some(key.team),
            SignatureStatus::Revoked {
                revoked_ms: revoked.at_ms,
            },
        ));
    }
    let valid =
        registered_public(&key).is_some_and(|public| public.verify(artifact, signature).is_ok());
    let status = if valid {
        SignatureStatus::Valid
    } else {
        SignatureStatus::Invalid
    };
    Ok((Some(key.team), status))
}

/// The public key of a registered key record (None if the stored key text
/// was damaged).
fn registered_public(record: &KeyRecord) -> Option<PublicKey> {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(&record.public_key, &mut bytes).ok()?;
    let key = VerifyingKey::from_bytes(&bytes).ok()?;
    let public = PublicKey {
        key_id: KeyId::of(&key),
        team: record.team.clone(),
        owner: record.owner.clone(),
        key,
    };
    // A row whose id does not match its key was edited behind our back.
    (public.key_id == record.key_id).then_some(public)
}

impl Store {
    /// [`Registry::register_key`](crate::Registry::register_key) on this store.
    pub fn register_key(&self, key: &PublicKey, at_ms: i64) -> Result<KeyRecord, KeyError> {
        self.insert_key(key, None, at_ms)
    }

    /// [`Registry::rotate_key`](crate::Registry::rotate_key) on this store.
    pub fn rotate_key(
        &self,
        old: &KeyId,
        new: &PublicKey,
        at_ms: i64,
    ) -> Result<KeyRecord, KeyError> {
        self.insert_key(new, Some(old), at_ms)
    }

    fn insert_key(
        &self,
        key: &PublicKey,
        replaces: Option<&KeyId>,
        at_ms: i64,
    ) -> Result<KeyRecord, KeyError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(old) = replaces {
            let old_rec = key_in(&tx, old)?.ok_or_else(|| KeyError::NotRegistered {
                key_id: old.clone(),
            })?;
            if old_rec.team != key.team {
                return Err(KeyError::TeamMismatch {
                    old: old.clone(),
                    old_team: old_rec.team,
                    new: key.key_id.clone(),
                    new_team: key.team.clone(),
                });
            }
        }
        if let Some(existing) = key_in(&tx, &key.key_id)? {
            if existing.public_key != key.to_hex() {
                return Err(KeyError::Conflict {
                    key_id: key.key_id.clone(),
                    detail: "with another public key (an id collision); generate a new key".into(),
                });
            }
            if existing.team != key.team {
                return Err(KeyError::Conflict {
                    key_id: key.key_id.clone(),
                    detail: format!(
                        "for team `{}`; a key belongs to one team (generate a new key for `{}`)",
                        existing.team, key.team
                    ),
                });
            }
            if replaces.is_some() && existing.replaces.as_ref() != replaces {
                return Err(KeyError::Conflict {
                    key_id: key.key_id.clone(),
                    detail: "as a key of its own; a rotation needs a new key".into(),
                });
            }
            return Ok(existing);
        }
        tx.execute(
            "INSERT INTO keys (key_id, public_key, team, owner, registered_ms, replaces) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                key.key_id.as_str(),
                key.to_hex(),
                key.team,
                key.owner,
                at_ms,
                replaces.map(KeyId::as_str)
            ],
        )?;
        let record = key_in(&tx, &key.key_id)?.ok_or_else(|| KeyError::NotRegistered {
            key_id: key.key_id.clone(),
        })?;
        self.commit_recorded(tx, "key-added", at_ms, &record)?;
        Ok(record)
    }

    /// [`Registry::revoke_key`](crate::Registry::revoke_key) on this store.
    pub fn revoke_key(&self, key_id: &KeyId, change: &Change<'_>) -> Result<KeyRecord, KeyError> {
        change.check()?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE keys SET revoked_ms = ?2, revoked_by = ?3, revoke_reason = ?4 WHERE key_id = ?1 AND revoked_ms IS NULL",
            params![key_id.as_str(), change.at_ms, change.actor, change.reason],
        )?;
        let record = key_in(&tx, key_id)?.ok_or_else(|| KeyError::NotRegistered {
            key_id: key_id.clone(),
        })?;
        self.commit_recorded(tx, "key-revoked", change.at_ms, &record)?;
        Ok(record)
    }

    /// [`Registry::keys`](crate::Registry::keys) on this store.
    pub fn keys(&self) -> Result<Vec<KeyRecord>, KeyError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {KEY_COLUMNS} FROM keys ORDER BY team, registered_ms, key_id"
        ))?;
        let rows = stmt.query_map([], key_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// [`Registry::key`](crate::Registry::key) on this store.
    pub fn key(&self, key_id: &KeyId) -> Result<KeyRecord, KeyError> {
        key_in(&self.conn(), key_id)?.ok_or_else(|| KeyError::NotRegistered {
            key_id: key_id.clone(),
        })
    }

    /// [`Registry::add_signature`](crate::Registry::add_signature) on this store.
    pub fn add_signature(
        &self,
        name: &str,
        version: &str,
        signature: &Signature,
        at_ms: i64,
    ) -> Result<Artifact, SignatureError> {
        check_name("artifact name", name).map_err(RegistryError::from)?;
        let version = crate::input::parse_version(version).map_err(RegistryError::from)?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let artifact = registry::require_artifact_in(&tx, name, &version)?;
        let key = key_in(&tx, &signature.key_id)?.ok_or_else(|| SignatureError::UnknownKey {
            key_id: signature.key_id.clone(),
        })?;
        if let Some(revoked) = &key.revoked {
            return Err(SignatureError::Revoked {
                key_id: signature.key_id.clone(),
                revoked_ms: revoked.at_ms,
            });
        }
        let public =
            registered_public(&key).ok_or_else(|| mismatch(&signature.key_id, &artifact.id))?;
        public.verify(&artifact.id, signature)?;
        // Normalise to lowercase hex so equal signatures compare equal.
        let text = signature.signature.to_ascii_lowercase();
        tx.execute(
            "INSERT INTO signatures (name, version, key_id, signature, added_ms) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (name, version, key_id) DO UPDATE
             SET signature = excluded.signature, added_ms = excluded.added_ms
             WHERE signature <> excluded.signature",
            params![name, version.to_string(), signature.key_id.as_str(), text, at_ms],
        )?;
        let artifact = registry::require_artifact_in(&tx, name, &version)?;
        self.commit_recorded(
            tx,
            "signature",
            at_ms,
            &serde_json::json!({"artifact": artifact.id, "key-id": signature.key_id.as_str()}),
        )?;
        Ok(artifact)
    }
}

crate::db::from_backend!(KeyError, SignatureError);
