//! Resolving references — `name@1.2.0`, `name@production` or a bare blake3
//! — to the exact artifact a run should record.

use crate::blobs::Hash;
use crate::channels::{self, Scope};
use crate::db::Store;
use crate::input::{InputError, check_channel, check_name, parse_version};
use crate::registry::{self, Artifact, RegistryError, version_col};
use rusqlite::OptionalExtension;
use semver::Version;
use std::fmt;
use std::str::FromStr;

/// A reference to an artifact, as a user writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reference {
    /// `name@1.2.0`: one exact version.
    Version {
        /// The artifact name.
        name: String,
        /// The version.
        version: Version,
    },
    /// `name@production`: whatever the channel points at (for a scope).
    Channel {
        /// The artifact name.
        name: String,
        /// The channel.
        channel: String,
    },
    /// 64 hex characters: the artifact with these exact bytes.
    Hash(Hash),
}

impl FromStr for Reference {
    type Err = InputError;

    /// `name@<semver>` is a version, `name@<channel>` a channel (channel
    /// names start with a letter, so the two never overlap), and 64 hex
    /// characters a hash. A bare name is refused: say which version.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if Hash::is_hash_text(s) {
            return s
                .parse()
                .map(Self::Hash)
                .map_err(|_| InputError::new("reference", s, "not a blake3"));
        }
        let Some((name, at)) = s.split_once('@') else {
            return Err(InputError::new(
                "reference",
                s,
                "expected `name@version`, `name@channel` or a 64-hex blake3",
            ));
        };
        check_name("artifact name", name)?;
        if at.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
            return Ok(Self::Version {
                name: name.into(),
                version: parse_version(at)?,
            });
        }
        check_channel(at)?;
        Ok(Self::Channel {
            name: name.into(),
            channel: at.into(),
        })
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Version { name, version } => write!(f, "{name}@{version}"),
            Self::Channel { name, channel } => write!(f, "{name}@{channel}"),
            Self::Hash(h) => write!(f, "{h}"),
        }
    }
}

/// A reference could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The reference is malformed.
    #[error(transparent)]
    Input(#[from] InputError),
    /// No artifact carries this hash.
    #[error("no artifact has blake3 `{hash}`")]
    UnknownHash {
        /// The hash.
        hash: Hash,
    },
    /// The channel has no pointer for the name at this scope or any
    /// broader one.
    #[error(
        "channel `{channel}` has no pointer for `{name}` at scope `{scope}` or any broader scope"
    )]
    NoPointer {
        /// The artifact name.
        name: String,
        /// The channel.
        channel: String,
        /// The scope asked for.
        scope: Scope,
    },
    /// The version does not exist.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The storage backend failed.
    #[error("database: {0}")]
    Backend(crate::db::BackendError),
}

impl Store {
    /// [`Registry::resolve`](crate::Registry::resolve) on this store.
    pub fn resolve(&self, reference: &str, scope: &Scope) -> Result<Artifact, ResolveError> {
        let reference: Reference = reference.parse()?;
        self.resolve_ref(&reference, scope)
    }

    /// [`Registry::resolve_ref`](crate::Registry::resolve_ref) on this store.
    pub fn resolve_ref(
        &self,
        reference: &Reference,
        scope: &Scope,
    ) -> Result<Artifact, ResolveError> {
        scope.check()?;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let artifact =
            match reference {
                Reference::Version { name, version } => {
                    registry::require_artifact_in(&tx, name, version)?
                }
                Reference::Channel { name, channel } => {
                    let (_, version) = channels::resolve_in(&tx, channel, name, scope)?
                        .ok_or_else(|| ResolveError::NoPointer {
                            name: name.clone(),
                            channel: channel.clone(),
                            scope: scope.clone(),
                        })?;
                    registry::require_artifact_in(&tx, name, &version)?
                }
                Reference::Hash(hash) => {
                    let found = tx
                        .query_row(
                            "SELECT name, version FROM artifacts WHERE hash = ?1
                         ORDER BY published_ms, name, version LIMIT 1",
                            [hash],
                            |r| Ok((r.get::<_, String>(0)?, version_col(r, 1)?)),
                        )
                        .optional()?;
                    let (name, version) = found.ok_or(ResolveError::UnknownHash { hash: *hash })?;
                    registry::require_artifact_in(&tx, &name, &version)?
                }
            };
        tx.commit()?;
        Ok(artifact)
    }
}

crate::db::from_backend!(ResolveError);
