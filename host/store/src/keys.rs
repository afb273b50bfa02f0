//! Signing keys: ids, public keys, key pairs, their files, and the
//! signatures they make over artifacts.

use crate::input::{InputError, check_name, check_who};
use crate::registry::{ArtifactId, RegistryError};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

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
    pub(crate) fn of(key: &VerifyingKey) -> Self {
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
    /// The storage backend failed.
    #[error("database: {0}")]
    Backend(crate::db::BackendError),
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
    /// The storage backend failed.
    #[error("database: {0}")]
    Backend(crate::db::BackendError),
}

/// An ed25519 public key with its id, team and owner: what is shared and
/// registered.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub(crate) key_id: KeyId,
    pub(crate) team: String,
    pub(crate) owner: String,
    pub(crate) key: VerifyingKey,
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
    /// verifies here; use [`Registry::verify`](crate::Registry::verify) for the decision.
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

pub(crate) fn mismatch(key_id: &KeyId, artifact: &ArtifactId) -> SignatureError {
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
