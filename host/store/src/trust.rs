//! Trust policies: which teams must sign an artifact of a kind before it
//! may sit on a channel.

use crate::blobs::{self, BlobError, Hash};
use crate::db::{Schema, Store};
use crate::input::{Change, InputError, check_channel, check_name};
use crate::registry::{self, Artifact, ArtifactId, ArtifactKind, RegistryError};
use crate::signing::{self, KeyId, SignatureStatus};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use toml::Spanned;

pub(crate) static SCHEMA: Schema = Schema {
    module: "trust",
    migrations: &[r#"
        -- Every trust policy ever set; the one in force has the highest seq.
        CREATE TABLE trust_policies (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            hash TEXT NOT NULL REFERENCES blobs (hash),
            actor TEXT NOT NULL,
            reason TEXT NOT NULL,
            at_ms INTEGER NOT NULL
        );
    "#],
    backfill: None,
};

/// The trust-policy schema version this store reads.
pub const TRUST_POLICY_SCHEMA: u32 = 1;

/// One team's quorum: at least `count` distinct keys of `team` must sign.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quorum {
    /// The team.
    pub team: String,
    /// How many of its keys must sign (at least 1).
    pub count: u32,
}

/// A parsed trust policy.
///
/// # Format
///
/// ```toml
/// schema = 1
///
/// # production policy packs: ≥1 signature from legal's keys AND ≥1 from brand's
/// [channel.production.policy-pack]
/// legal = 1
/// brand = 1
///
/// # production skills: 2 of engineering's keys (k of n, n = the team's keys)
/// [channel.production.skill]
/// engineering = 2
///
/// # any channel without its own table for a kind
/// [channel."*".skill]
/// engineering = 1
/// ```
///
/// - `[channel.<channel>.<kind>]` maps team → k: at least k distinct keys of
///   that team must have valid signatures; every listed team must be
///   satisfied. Kinds are `skill`, `policy-pack`, `config`, `prompt`.
/// - Lookup for (channel, kind): the channel's own table, else the table of
///   channel `"*"`, else **no signature is required**. The same holds when
///   no policy was ever set. An empty table (`[channel.staging.skill]` with
///   no teams) explicitly requires nothing and shadows `"*"`.
/// - A signature counts only if its key is registered, belongs to the team,
///   is not revoked and the signature verifies over the artifact's kind,
///   name, version and blake3.
/// - Unknown fields, kinds, invalid team names and counts below 1 are
///   refused with their line and column.
///
/// [`Store::set_trust_policy`] replaces the whole policy; every version is
/// kept as a blob with who set it, when and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustPolicy {
    rules: BTreeMap<(String, ArtifactKind), Vec<Quorum>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    schema: Spanned<u32>,
    #[serde(default)]
    channel: BTreeMap<Spanned<String>, KindTables>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KindTables {
    skill: Option<TeamTable>,
    #[serde(rename = "policy-pack")]
    policy_pack: Option<TeamTable>,
    config: Option<TeamTable>,
    prompt: Option<TeamTable>,
}

type TeamTable = BTreeMap<Spanned<String>, Spanned<i64>>;

impl TrustPolicy {
    /// A policy that requires nothing anywhere (the default).
    pub fn none() -> Self {
        Self {
            rules: BTreeMap::new(),
        }
    }

    /// Parse TOML text. Errors name the line, column and field.
    pub fn parse(text: &str) -> Result<Self, TrustError> {
        let file: PolicyFile = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map(|s| line_col(text, s.start)).unzip();
            TrustError::Policy {
                line,
                column,
                reason: e
                    .message()
                    .lines()
                    .next()
                    .unwrap_or("invalid TOML")
                    .to_string(),
            }
        })?;
        let at = |span: std::ops::Range<usize>, reason: String| {
            let (line, column) = line_col(text, span.start);
            TrustError::Policy {
                line: Some(line),
                column: Some(column),
                reason,
            }
        };
        if *file.schema.get_ref() != TRUST_POLICY_SCHEMA {
            return Err(at(
                file.schema.span(),
                format!(
                    "schema {} is not supported (this gatehouse reads schema {TRUST_POLICY_SCHEMA})",
                    file.schema.get_ref()
                ),
            ));
        }
        let mut rules = BTreeMap::new();
        for (channel, kinds) in file.channel {
            if channel.get_ref() != "*" {
                check_channel(channel.get_ref()).map_err(|e| at(channel.span(), e.to_string()))?;
            }
            let tables = [
                (ArtifactKind::Skill, kinds.skill),
                (ArtifactKind::PolicyPack, kinds.policy_pack),
                (ArtifactKind::Config, kinds.config),
                (ArtifactKind::Prompt, kinds.prompt),
            ];
            for (kind, table) in tables {
                let Some(table) = table else { continue };
                // Keep the teams in the order the policy lists them, so
                // messages read like the policy.
                let mut table: Vec<_> = table.into_iter().collect();
                table.sort_by_key(|(team, _)| team.span().start);
                let mut quorums = Vec::new();
                for (team, count) in table {
                    check_name("team", team.get_ref())
                        .map_err(|e| at(team.span(), e.to_string()))?;
                    let n = *count.get_ref();
                    let count_ok = u32::try_from(n).ok().filter(|n| *n >= 1);
                    let Some(n) = count_ok else {
                        return Err(at(
                            count.span(),
                            format!(
                                "team `{}` needs a count of at least 1 (found {n}); remove the line to require nothing",
                                team.get_ref()
                            ),
                        ));
                    };
                    quorums.push(Quorum {
                        team: team.into_inner(),
                        count: n,
                    });
                }
                rules.insert((channel.get_ref().clone(), kind), quorums);
            }
        }
        Ok(Self { rules })
    }

    /// What an artifact of `kind` needs to sit on `channel`: the channel's
    /// own rule, else the `"*"` rule, else nothing (an empty slice).
    pub fn requirements(&self, channel: &str, kind: ArtifactKind) -> &[Quorum] {
        self.rules
            .get(&(channel.to_string(), kind))
            .or_else(|| self.rules.get(&("*".to_string(), kind)))
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.chars().count()
        - before
            .rfind('\n')
            .map(|i| before[..=i].chars().count())
            .unwrap_or(0)
        + 1;
    (line, column)
}

/// A trust policy as set in the store. Returned by
/// [`Store::set_trust_policy`] so the caller can append it to the audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustPolicyRecord {
    /// Its sequence number (the highest is in force).
    pub seq: i64,
    /// The blake3 of its TOML text (stored as a blob).
    pub hash: Hash,
    /// Who set it.
    pub actor: String,
    /// Why.
    pub reason: String,
    /// When (milliseconds since the Unix epoch).
    pub at_ms: i64,
}

/// One team's requirement and how the artifact's signatures fare.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuorumCheck {
    /// The team.
    pub team: String,
    /// How many of its keys must sign.
    pub required: u32,
    /// Its keys whose signatures count.
    pub valid: Vec<KeyId>,
    /// Its keys whose signatures do not count because they are revoked.
    pub revoked: Vec<KeyId>,
    /// Its keys whose signatures do not verify over this artifact.
    pub invalid: Vec<KeyId>,
}

impl QuorumCheck {
    /// Whether enough of the team's keys signed.
    pub fn is_met(&self) -> bool {
        self.valid.len() >= self.required as usize
    }
}

/// One of the artifact's signatures, judged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureCheck {
    /// The key.
    pub key_id: KeyId,
    /// Its team, if the key is registered.
    pub team: Option<String>,
    /// The verdict.
    #[serde(flatten)]
    pub status: SignatureStatus,
}

/// How an artifact fares against the trust policy of a channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustReport {
    /// The artifact.
    pub artifact: ArtifactId,
    /// The channel.
    pub channel: String,
    /// The trust policy in force (None if none was ever set).
    pub policy: Option<Hash>,
    /// One entry per required team (empty: nothing required).
    pub quorums: Vec<QuorumCheck>,
    /// Every signature the artifact carries, judged.
    pub signatures: Vec<SignatureCheck>,
}

impl TrustReport {
    /// Whether every team's quorum is met.
    pub fn is_trusted(&self) -> bool {
        self.quorums.iter().all(QuorumCheck::is_met)
    }

    /// One sentence per unmet requirement, for instance
    /// "production policy-pack needs 1 signature from team `legal`, found 0
    /// valid (1 by revoked key `ab12…`)".
    pub fn failures(&self) -> Vec<String> {
        self.quorums
            .iter()
            .filter(|q| !q.is_met())
            .map(|q| {
                let mut notes = Vec::new();
                if self.signatures.is_empty() {
                    notes.push("the artifact is unsigned".to_string());
                }
                for k in &q.revoked {
                    notes.push(format!("1 by revoked key `{k}`"));
                }
                for k in &q.invalid {
                    notes.push(format!("1 invalid by key `{k}`"));
                }
                let plural = if q.required == 1 { "" } else { "s" };
                let mut line = format!(
                    "{} {} needs {} signature{plural} from team `{}`, found {} valid",
                    self.channel,
                    self.artifact.kind,
                    q.required,
                    q.team,
                    q.valid.len()
                );
                if !notes.is_empty() {
                    line.push_str(&format!(" ({})", notes.join(", ")));
                }
                line
            })
            .collect()
    }
}

impl fmt::Display for TrustReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_trusted() {
            write!(
                f,
                "`{}` is trusted for channel `{}`",
                self.artifact, self.channel
            )
        } else {
            write!(
                f,
                "`{}` is not trusted for channel `{}`: {}",
                self.artifact,
                self.channel,
                self.failures().join("; ")
            )
        }
    }
}

/// A trust policy could not be set or an artifact is not trusted.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The policy text is invalid.
    #[error("trust policy{}: {reason}", location(.line, .column))]
    Policy {
        /// The line (1-based), if known.
        line: Option<usize>,
        /// The column (1-based), if known.
        column: Option<usize>,
        /// What is wrong.
        reason: String,
    },
    /// The artifact does not meet the channel's policy; the report says
    /// which requirement failed and why each signature did not count.
    #[error("{0}")]
    Untrusted(Box<TrustReport>),
    /// A channel name, actor or reason was refused.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The artifact does not exist.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The stored policy could not be read.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// The storage backend failed.
    #[error("database: {0}")]
    Backend(crate::db::BackendError),
}

fn location(line: &Option<usize>, column: &Option<usize>) -> String {
    match (*line, *column) {
        (Some(l), Some(c)) => format!(", line {l}, column {c}"),
        (Some(l), None) => format!(", line {l}"),
        _ => String::new(),
    }
}

fn record_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TrustPolicyRecord> {
    Ok(TrustPolicyRecord {
        seq: r.get(0)?,
        hash: r.get(1)?,
        actor: r.get(2)?,
        reason: r.get(3)?,
        at_ms: r.get(4)?,
    })
}

/// The policy in force, read from its blob (re-hashed) and parsed.
pub(crate) fn current_in(
    conn: &Connection,
) -> Result<Option<(TrustPolicyRecord, TrustPolicy)>, TrustError> {
    let record = conn
        .query_row(
            "SELECT seq, hash, actor, reason, at_ms FROM trust_policies ORDER BY seq DESC LIMIT 1",
            [],
            record_row,
        )
        .optional()?;
    let Some(record) = record else {
        return Ok(None);
    };
    let bytes = blobs::get_in(conn, &record.hash)?;
    let text = String::from_utf8_lossy(&bytes);
    let policy = TrustPolicy::parse(&text)?;
    Ok(Some((record, policy)))
}

/// Judge `artifact` against the policy in force for `channel`. Never an
/// error for an untrusted artifact: the report says so.
pub(crate) fn evaluate_in(
    conn: &Connection,
    artifact: &Artifact,
    channel: &str,
) -> Result<TrustReport, TrustError> {
    let current = current_in(conn)?;
    let (policy_hash, policy) = match current {
        Some((record, policy)) => (Some(record.hash), policy),
        None => (None, TrustPolicy::none()),
    };
    let mut signatures = Vec::with_capacity(artifact.signatures.len());
    for sig in &artifact.signatures {
        let (team, status) = signing::judge_in(conn, &artifact.id, sig)?;
        signatures.push(SignatureCheck {
            key_id: sig.key_id.clone(),
            team,
            status,
        });
    }
    let quorums = policy
        .requirements(channel, artifact.id.kind)
        .iter()
        .map(|q| {
            let of_team = || {
                signatures
                    .iter()
                    .filter(|s| s.team.as_deref() == Some(q.team.as_str()))
            };
            let keys = |want: fn(&SignatureStatus) -> bool| {
                of_team()
                    .filter(|s| want(&s.status))
                    .map(|s| s.key_id.clone())
                    .collect::<Vec<_>>()
            };
            QuorumCheck {
                team: q.team.clone(),
                required: q.count,
                // Signatures are unique per key (the table's primary key),
                // so counting signatures counts distinct keys.
                valid: keys(|s| matches!(s, SignatureStatus::Valid)),
                revoked: keys(|s| matches!(s, SignatureStatus::Revoked { .. })),
                invalid: keys(|s| matches!(s, SignatureStatus::Invalid)),
            }
        })
        .collect();
    Ok(TrustReport {
        artifact: artifact.id.clone(),
        channel: channel.to_string(),
        policy: policy_hash,
        quorums,
        signatures,
    })
}

/// Like [`evaluate_in`], but an untrusted artifact is an error.
pub(crate) fn require_trusted_in(
    conn: &Connection,
    artifact: &Artifact,
    channel: &str,
) -> Result<TrustReport, TrustError> {
    let report = evaluate_in(conn, artifact, channel)?;
    if report.is_trusted() {
        Ok(report)
    } else {
        Err(TrustError::Untrusted(Box::new(report)))
    }
}

impl Store {
    /// [`Registry::set_trust_policy`](crate::Registry::set_trust_policy) on this store.
    pub fn set_trust_policy(
        &self,
        text: &str,
        change: &Change<'_>,
    ) -> Result<TrustPolicyRecord, TrustError> {
        change.check()?;
        TrustPolicy::parse(text)?;
        let hash = Hash::of(text.as_bytes());
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some((current, _)) = current_in(&tx)?
            && current.hash == hash
        {
            return Ok(current);
        }
        blobs::put_in(&tx, &hash, text.as_bytes())?;
        tx.execute(
            "INSERT INTO trust_policies (hash, actor, reason, at_ms) VALUES (?1, ?2, ?3, ?4)",
            params![hash, change.actor, change.reason, change.at_ms],
        )?;
        let record = tx.query_row(
            "SELECT seq, hash, actor, reason, at_ms FROM trust_policies WHERE seq = last_insert_rowid()",
            [],
            record_row,
        )?;
        self.commit_recorded(tx, "trust-policy", change.at_ms, &record)?;
        Ok(record)
    }

    /// [`Registry::trust_policy`](crate::Registry::trust_policy) on this store.
    pub fn trust_policy(&self) -> Result<Option<(TrustPolicyRecord, TrustPolicy)>, TrustError> {
        current_in(&self.conn())
    }

    /// [`Registry::verify`](crate::Registry::verify) on this store.
    pub fn verify(
        &self,
        name: &str,
        version: &str,
        channel: &str,
    ) -> Result<TrustReport, TrustError> {
        check_channel(channel)?;
        check_name("artifact name", name).map_err(RegistryError::from)?;
        let version = crate::input::parse_version(version).map_err(RegistryError::from)?;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let artifact = registry::require_artifact_in(&tx, name, &version)?;
        let report = require_trusted_in(&tx, &artifact, channel);
        tx.commit()?;
        report
    }
}

crate::db::from_backend!(TrustError);
