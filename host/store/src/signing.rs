//! Signing: ed25519 key pairs, key files, signatures over an artifact's
//! identity, and the keys registered in the store with their team.

use crate::db::{Schema, Store};
use crate::input::{Change, InputError, check_name, check_who};
use crate::registry::{self, Artifact, ArtifactId, RegistryError};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

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

const PUBLIC_FORMAT: &str = "gatehouse-public-key-v1";
const SECRET_FORMAT: &str = "gatehouse-secret-key-v1";
const ALGORITHM: &str = "ed25519";
const KEY_ID_DOMAIN: &[u8] = b"gatehouse key id v1\n";

/// A key's id: 16 lowercase hex characters derived from its public key.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KeyId(String);

impl KeyId {
    /// The id of an ed25519 public key.
    fn of(key: &VerifyingKey) -> Self {
        let mut h = blake3::Hasher::new();
        h.update(KEY_ID_DOMAIN);
        h.update(key.as_bytes());
        Self(hex::encode(&h.finalize().as_bytes()[..8]))
    }

    /// Text read back from the database is taken as is: a damaged id then
    /// simply matches no key (and its signature counts as by an unknown key).
    pub(crate) fn from_db(text: String) -> Self {
        Self(text)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.0)
    }
}

impl FromStr for KeyId {
    type Err = InputError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() == 16
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(Self(s.to_string()))
        } else {
            Err(InputError::new(
                "key id",
                s,
                "expected 16 lowercase hexadecimal characters",
            ))
        }
    }
}

impl TryFrom<String> for KeyId {
    type Error = InputError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<KeyId> for String {
    fn from(id: KeyId) -> Self {
        id.0
    }
}

/// A signature by one key over an artifact's
/// [signing message](ArtifactId::signing_message). Serialises as
/// `{"key_id": "…", "signature": "<128 hex>"}` (a detached signature file).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// The signing key.
    pub key_id: KeyId,
    /// The 64-byte ed25519 signature, as 128 hex characters. Kept as text so
    /// that a damaged stored signature can still be listed and reported as
    /// invalid rather than make the whole artifact unreadable.
    pub signature: String,
}

impl Signature {
    fn parse_bytes(&self) -> Option<ed25519_dalek::Signature> {
        let mut bytes = [0u8; 64];
        hex::decode_to_slice(&self.signature, &mut bytes).ok()?;
        Some(ed25519_dalek::Signature::from_bytes(&bytes))
    }
}

/// A key file could not be made, read or written, or a key could not be
/// registered, rotated or revoked.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A team, owner, actor or key id was refused.
    #[error(transparent)]
    Input(#[from] InputError),
    /// Key file text is malformed or inconsistent.
    #[error("invalid key file: {reason}")]
    Parse {
        /// What is wrong (never includes secret material).
        reason: String,
    },
    /// A key file on disk is malformed or inconsistent.
    #[error("invalid key file `{path}`: {reason}")]
    ParseFile {
        /// The file.
        path: PathBuf,
        /// What is wrong (never includes secret material).
        reason: String,
    },
    /// A key file could not be read or written.
    #[error("key file `{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Writing would replace an existing file.
    #[error("key file `{path}` already exists; refusing to overwrite a key")]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// No key with this id is registered.
    #[error("key `{key_id}` is not registered")]
    NotRegistered {
        /// The id.
        key_id: KeyId,
    },
    /// The key (or its id) is registered with other details.
    #[error("key `{key_id}` is already registered {detail}")]
    Conflict {
        /// The id.
        key_id: KeyId,
        /// How the registered key differs.
        detail: String,
    },
    /// A rotation would move signing power to another team.
    #[error(
        "key `{new}` belongs to team `{new_team}`; it cannot rotate key `{old}` of team `{old_team}`"
    )]
    TeamMismatch {
        /// The key being rotated.
        old: KeyId,
        /// Its team.
        old_team: String,
        /// The successor.
        new: KeyId,
        /// The successor's team.
        new_team: String,
    },
    /// SQLite failed.
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// A signature could not be added.
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    /// The signature's text is not 128 hex characters.
    #[error("malformed signature by key `{key_id}`: expected 128 hexadecimal characters")]
    Malformed {
        /// The key it claims.
        key_id: KeyId,
    },
    /// The signing key is not registered in the store.
    #[error("key `{key_id}` is not registered; register it with its team first")]
    UnknownKey {
        /// The key it claims.
        key_id: KeyId,
    },
    /// The signing key is revoked.
    #[error("key `{key_id}` was revoked at {revoked_ms} ms; its signatures no longer count")]
    Revoked {
        /// The key.
        key_id: KeyId,
        /// When it was revoked.
        revoked_ms: i64,
    },
    /// The signature does not verify: other content, another key, or
    /// damaged bytes.
    #[error(
        "signature by key `{key_id}` does not verify for {kind} `{artifact}` (blake3 `{hash}`)"
    )]
    Mismatch {
        /// The key it claims.
        key_id: KeyId,
        /// The artifact's kind.
        kind: String,
        /// `name@version`.
        artifact: String,
        /// The artifact's hash.
        hash: String,
    },
    /// The artifact does not exist (or the name/version is invalid).
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// SQLite failed.
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// An ed25519 public key with its id, team and owner: what is shared and
/// registered.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    key_id: KeyId,
    team: String,
    owner: String,
    key: VerifyingKey,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("key_id", &self.key_id)
            .field("team", &self.team)
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PublicKeyFile {
    format: String,
    algorithm: String,
    key_id: String,
    team: String,
    owner: String,
    public_key: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretKeyFile {
    format: String,
    algorithm: String,
    key_id: String,
    team: String,
    owner: String,
    public_key: String,
    secret_key: String,
}

/// Only the `format` field, read first so that a file of the other kind
/// gets a clear message instead of "unknown field".
#[derive(Deserialize)]
struct FormatOnly {
    format: Option<String>,
}

fn parse_err(reason: impl Into<String>) -> KeyError {
    KeyError::Parse {
        reason: reason.into(),
    }
}

fn check_format(text: &str, expected: &str) -> Result<(), KeyError> {
    let peek: FormatOnly = serde_json::from_str(text).map_err(|e| parse_err(json_reason(&e)))?;
    match peek.format.as_deref() {
        Some(f) if f == expected => Ok(()),
        Some(PUBLIC_FORMAT) => Err(parse_err(
            "this is a public key file; a secret key file is needed",
        )),
        Some(SECRET_FORMAT) => Err(parse_err(
            "this is a secret key file; expected a public key file",
        )),
        Some(other) => Err(parse_err(format!(
            "unknown format `{}`; expected `{expected}`",
            other.escape_debug()
        ))),
        None => Err(parse_err(format!(
            "missing field `format` (expected `{expected}`)"
        ))),
    }
}

/// A serde_json error as one line with its position. serde_json never
/// quotes the input's values in its messages, so no secret can leak.
fn json_reason(e: &serde_json::Error) -> String {
    format!(
        "line {}, column {}: {}",
        e.line(),
        e.column(),
        first_line(&e.to_string())
    )
}

fn first_line(s: &str) -> &str {
    // serde_json appends " at line X column Y"; we print our own position.
    let s = s.lines().next().unwrap_or(s);
    match s.rfind(" at line ") {
        Some(i) => &s[..i],
        None => s,
    }
}

fn decode_32(field: &str, text: &str) -> Result<[u8; 32], KeyError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out)
        .map_err(|_| parse_err(format!("`{field}` must be 64 hexadecimal characters")))?;
    Ok(out)
}

fn verifying_key(bytes: &[u8; 32]) -> Result<VerifyingKey, KeyError> {
    let key = VerifyingKey::from_bytes(bytes)
        .map_err(|_| parse_err("`public_key` is not a valid ed25519 point"))?;
    // A small-order key can "sign" many messages at once; refuse it outright.
    if key.is_weak() {
        return Err(parse_err(
            "`public_key` is a weak (small-order) ed25519 key",
        ));
    }
    Ok(key)
}

impl PublicKey {
    fn build(team: &str, owner: &str, key: VerifyingKey) -> Result<Self, KeyError> {
        check_name("team", team)?;
        check_who("owner", owner)?;
        Ok(Self {
            key_id: KeyId::of(&key),
            team: team.to_string(),
            owner: owner.to_string(),
            key,
        })
    }

    /// The key's id.
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    /// The team whose signatures this key makes.
    pub fn team(&self) -> &str {
        &self.team
    }

    /// Who holds the key (free text).
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The public key as 64 hex characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.key.as_bytes())
    }

    /// Check `signature` over `artifact`'s signing message with this key
    /// (strict ed25519 verification: no malleable or small-order
    /// signatures). This does not consult any store, so a revoked key still
    /// verifies here; use [`Store::verify`] for the decision.
    pub fn verify(
        &self,
        artifact: &ArtifactId,
        signature: &Signature,
    ) -> Result<(), SignatureError> {
        if signature.key_id != self.key_id {
            return Err(mismatch(&signature.key_id, artifact));
        }
        let sig = signature
            .parse_bytes()
            .ok_or_else(|| SignatureError::Malformed {
                key_id: signature.key_id.clone(),
            })?;
        self.key
            .verify_strict(&artifact.signing_message(), &sig)
            .map_err(|_| mismatch(&signature.key_id, artifact))
    }

    /// The public key file's JSON text.
    pub fn to_json(&self) -> String {
        let file = PublicKeyFile {
            format: PUBLIC_FORMAT.into(),
            algorithm: ALGORITHM.into(),
            key_id: self.key_id.to_string(),
            team: self.team.clone(),
            owner: self.owner.clone(),
            public_key: self.to_hex(),
        };
        let mut text = serde_json::to_string_pretty(&file).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Parse a public key file's text; the key id must match the key.
    pub fn from_json(text: &str) -> Result<Self, KeyError> {
        check_format(text, PUBLIC_FORMAT)?;
        let file: PublicKeyFile =
            serde_json::from_str(text).map_err(|e| parse_err(json_reason(&e)))?;
        if file.algorithm != ALGORITHM {
            return Err(parse_err(format!("algorithm must be `{ALGORITHM}`")));
        }
        let key = verifying_key(&decode_32("public_key", &file.public_key)?)?;
        let public = Self::build(&file.team, &file.owner, key)?;
        if public.key_id.as_str() != file.key_id {
            return Err(parse_err(format!(
                "`key_id` `{}` does not match the public key (its id is `{}`)",
                file.key_id.escape_debug(),
                public.key_id
            )));
        }
        Ok(public)
    }

    /// Write the public key file; never replaces an existing file.
    pub fn write(&self, path: &Path) -> Result<(), KeyError> {
        write_new(path, self.to_json().as_bytes(), false)
    }

    /// Read a public key file.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        Self::from_json(&read(path)?).map_err(|e| at_path(e, path))
    }
}

fn mismatch(key_id: &KeyId, artifact: &ArtifactId) -> SignatureError {
    SignatureError::Mismatch {
        key_id: key_id.clone(),
        kind: artifact.kind.to_string(),
        artifact: artifact.to_string(),
        hash: artifact.hash.to_string(),
    }
}

/// An ed25519 key pair: signs artifacts. `Debug` shows only the public
/// half; the secret leaves the process only through
/// [`KeyPair::write_secret`] / [`KeyPair::to_secret_json`].
///
/// # Key files
///
/// Two JSON files per key, so the public half can be shared freely:
///
/// ```json
/// {
///   "format": "gatehouse-public-key-v1",
///   "algorithm": "ed25519",
///   "key_id": "3f2a9c0b17d4e8a1",
///   "team": "legal",
///   "owner": "alice@acme.example",
///   "public_key": "<64 hex: the ed25519 public key>"
/// }
/// ```
///
/// The secret key file has the same fields with `"format":
/// "gatehouse-secret-key-v1"` and one more, `"secret_key"` (64 hex: the
/// ed25519 seed). It is written with mode `0600` on Unix and never over an
/// existing file. Unknown fields are refused; on load, the key id and public
/// key are recomputed from the key material and must match the file.
///
/// - `key_id` is the first 8 bytes (16 hex) of
///   `blake3("gatehouse key id v1\n" ‖ public key)`. The store refuses to
///   register two different public keys with the same id, so a (costly)
///   prefix collision can only be refused, never confused.
/// - `team` (a name such as `legal`, `brand`, `engineering`) is what trust
///   policies count; `owner` is free text for humans (who holds the key).
///
/// Secrets never appear in `Debug` output or error messages.
pub struct KeyPair {
    secret: SigningKey,
    public: PublicKey,
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("public", &self.public)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl KeyPair {
    /// A fresh key pair for `team`, held by `owner`, from the operating
    /// system's randomness.
    pub fn generate(team: &str, owner: &str) -> Result<Self, KeyError> {
        let secret = SigningKey::generate(&mut rand_core::OsRng);
        let public = PublicKey::build(team, owner, secret.verifying_key())?;
        Ok(Self { secret, public })
    }

    /// A key pair derived from a 32-byte secret: for simulations and tests
    /// that must be reproducible (the demo derives its keys from its
    /// seed). Real keys come from [`KeyPair::generate`].
    pub fn from_secret(team: &str, owner: &str, secret: [u8; 32]) -> Result<Self, KeyError> {
        let secret = SigningKey::from_bytes(&secret);
        let public = PublicKey::build(team, owner, secret.verifying_key())?;
        Ok(Self { secret, public })
    }

    /// The public half (with id, team and owner).
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// The key's id.
    pub fn key_id(&self) -> &KeyId {
        &self.public.key_id
    }

    /// Sign `artifact`'s [signing message](ArtifactId::signing_message).
    pub fn sign(&self, artifact: &ArtifactId) -> Signature {
        let sig = self.secret.sign(&artifact.signing_message());
        Signature {
            key_id: self.public.key_id.clone(),
            signature: hex::encode(sig.to_bytes()),
        }
    }

    /// The secret key file's JSON text. Handle with care: it contains the
    /// secret.
    pub fn to_secret_json(&self) -> String {
        let file = SecretKeyFile {
            format: SECRET_FORMAT.into(),
            algorithm: ALGORITHM.into(),
            key_id: self.public.key_id.to_string(),
            team: self.public.team.clone(),
            owner: self.public.owner.clone(),
            public_key: self.public.to_hex(),
            secret_key: hex::encode(self.secret.to_bytes()),
        };
        let mut text = serde_json::to_string_pretty(&file).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Parse a secret key file's text; the public key and id must match
    /// the secret.
    pub fn from_secret_json(text: &str) -> Result<Self, KeyError> {
        check_format(text, SECRET_FORMAT)?;
        let file: SecretKeyFile =
            serde_json::from_str(text).map_err(|e| parse_err(json_reason(&e)))?;
        if file.algorithm != ALGORITHM {
            return Err(parse_err(format!("algorithm must be `{ALGORITHM}`")));
        }
        let secret = SigningKey::from_bytes(&decode_32("secret_key", &file.secret_key)?);
        let public = PublicKey::build(&file.team, &file.owner, secret.verifying_key())?;
        if public.to_hex() != file.public_key.to_ascii_lowercase() {
            return Err(parse_err("`public_key` does not match `secret_key`"));
        }
        if public.key_id.as_str() != file.key_id {
            return Err(parse_err("`key_id` does not match the key"));
        }
        Ok(Self { secret, public })
    }

    /// Write the secret key file: mode `0600` on Unix, flushed to disk,
    /// never replacing an existing file.
    pub fn write_secret(&self, path: &Path) -> Result<(), KeyError> {
        write_new(path, self.to_secret_json().as_bytes(), true)
    }

    /// Read a secret key file.
    pub fn load_secret(path: &Path) -> Result<Self, KeyError> {
        Self::from_secret_json(&read(path)?).map_err(|e| at_path(e, path))
    }
}

fn read(path: &Path) -> Result<String, KeyError> {
    std::fs::read_to_string(path).map_err(|source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn at_path(e: KeyError, path: &Path) -> KeyError {
    match e {
        KeyError::Parse { reason } => KeyError::ParseFile {
            path: path.to_path_buf(),
            reason,
        },
        other => other,
    }
}

fn write_new(path: &Path, bytes: &[u8], secret: bool) -> Result<(), KeyError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let io = |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = options.open(path).map_err(|source: std::io::Error| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            KeyError::Exists {
                path: path.to_path_buf(),
            }
        } else {
            io(source)
        }
    })?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(())
}

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
    /// Register a public key for its team. Idempotent for the same key and
    /// team; a revoked key stays revoked (generate a new one instead).
    pub fn register_key(&self, key: &PublicKey, at_ms: i64) -> Result<KeyRecord, KeyError> {
        self.insert_key(key, None, at_ms)
    }

    /// Register `new` as the successor of key `old`: same team required.
    /// Both keys count until `old` is revoked with [`Store::revoke_key`],
    /// which leaves time to re-sign with the new key.
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

    /// Revoke a key: from now on none of its signatures count, on any
    /// artifact. Idempotent (the first revocation's time and reason stay).
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

    /// Every registered key, by team then registration time.
    pub fn keys(&self) -> Result<Vec<KeyRecord>, KeyError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {KEY_COLUMNS} FROM keys ORDER BY team, registered_ms, key_id"
        ))?;
        let rows = stmt.query_map([], key_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// The registered key `key_id`.
    pub fn key(&self, key_id: &KeyId) -> Result<KeyRecord, KeyError> {
        key_in(&self.conn(), key_id)?.ok_or_else(|| KeyError::NotRegistered {
            key_id: key_id.clone(),
        })
    }

    /// Attach `signature` to `name@version`, after checking it: the key is
    /// registered and not revoked, and the signature verifies over the
    /// artifact's signing message. Checked again at every use
    /// ([`Store::verify`], promote, rollback), so a signature whose key is
    /// later revoked, or whose stored bytes are damaged, stops counting.
    /// Adding the same key's signature again is idempotent.
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
