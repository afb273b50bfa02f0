//! Principals, roles and API tokens. Tokens are stored only as hashes.

use crate::db::Store;
use crate::input::{Change, InputError, check_name};
use crate::signing::Revocation;
use rand_core::RngCore;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// The name of the implicit local admin ([`Store::local_admin`]); no
/// principal may be added under it.
pub const LOCAL_ADMIN: &str = "local-admin";

/// Every API token starts with this; 64 hex digits (32 random bytes)
/// follow.
const TOKEN_PREFIX: &str = "ght_";

/// The blake3 key-derivation context of stored token hashes.
const TOKEN_DOMAIN: &str = "gatehouse api token v1";

/// What a principal may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Publishes skills, packs, configs and prompts.
    Author,
    /// Approves or rejects queued actions and promotions.
    Approver,
    /// Promotes and rolls back, kills and revives agents, runs pilots.
    Operator,
    /// Reads everything and replays runs; changes nothing.
    Auditor,
    /// Manages keys, principals, roles and tokens.
    Admin,
}

impl Role {
    /// Every role, in a fixed order.
    pub const ALL: [Role; 5] = [
        Self::Author,
        Self::Approver,
        Self::Operator,
        Self::Auditor,
        Self::Admin,
    ];

    /// The role's name: `author`, `approver`, `operator`, `auditor` or
    /// `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Author => "author",
            Self::Approver => "approver",
            Self::Operator => "operator",
            Self::Auditor => "auditor",
            Self::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = InputError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                InputError::new(
                    "role",
                    s,
                    "use `author`, `approver`, `operator`, `auditor` or `admin`",
                )
            })
    }
}

/// An authenticated principal: obtained only from [`Store::authenticate`]
/// or [`Store::local_admin`], so holding one proves who the caller is.
/// Roles are exact: `admin` does not imply the others (the local admin
/// holds every role).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Principal {
    name: String,
    roles: BTreeSet<Role>,
    local: bool,
}

impl Principal {
    /// Its name (the actor to record in changes it makes).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its roles.
    pub fn roles(&self) -> impl Iterator<Item = Role> + '_ {
        self.roles.iter().copied()
    }

    /// Whether it holds `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether this is the implicit local admin of [`Store::local_admin`].
    pub fn is_local_admin(&self) -> bool {
        self.local
    }

    /// Refuse unless it holds `role`; `to` names what needs it, as a verb
    /// phrase (`approve`, `kill an agent`), for the message.
    pub fn require(&self, role: Role, to: &str) -> Result<(), Forbidden> {
        if self.has(role) {
            Ok(())
        } else {
            Err(Forbidden {
                principal: self.name.clone(),
                role,
                to: to.to_string(),
            })
        }
    }
}

/// A principal lacks the role an operation needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("principal `{principal}` lacks role `{role}` needed to {to}")]
pub struct Forbidden {
    /// The principal.
    pub principal: String,
    /// The role it lacks.
    pub role: Role,
    /// What it tried to do.
    pub to: String,
}

/// A principal as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrincipalRecord {
    /// Its name.
    pub name: String,
    /// Its roles, in [`Role::ALL`] order.
    pub roles: Vec<Role>,
    /// When it was added.
    pub created_ms: i64,
    /// Who added it.
    pub created_by: String,
    /// Its unrevoked tokens.
    pub live_tokens: u64,
}

/// A principal added or its roles changed: the record for the audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrincipalChange {
    /// The principal.
    pub name: String,
    /// Its roles now.
    pub roles: Vec<Role>,
    /// Its roles before (`None`: it was just added).
    pub previous: Option<Vec<Role>>,
    /// Who changed it.
    pub actor: String,
    /// Why.
    pub reason: String,
    /// When.
    pub at_ms: i64,
}

/// An API token as stored (its secret is not: only a hash of it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Its public id (16 hex digits), for listing and revoking.
    pub id: String,
    /// The principal it authenticates.
    pub principal: String,
    /// When it was issued.
    pub issued_ms: i64,
    /// Who issued it.
    pub issued_by: String,
    /// Its revocation, if revoked.
    pub revoked: Option<Revocation>,
}

/// A newly issued token: the secret is here and nowhere else. Show it to
/// its holder once; the store keeps only its hash. `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The secret: `ght_` and 64 hex digits.
    pub token: String,
    /// The record for the audit log.
    pub record: TokenRecord,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"<secret>")
            .field("record", &self.record)
            .finish()
    }
}

/// A principal, role or token operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A name, role or change was refused.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The text is not shaped like a token (it is not quoted: it may be a
    /// secret).
    #[error("not a gatehouse API token (expected `ght_` followed by 64 hex digits)")]
    Malformed,
    /// No token has this hash.
    #[error("unknown API token")]
    UnknownToken,
    /// The token was revoked.
    #[error("API token `{id}` was revoked")]
    RevokedToken {
        /// The token's id.
        id: String,
    },
    /// No principal has this name.
    #[error("no principal `{name}`")]
    NoPrincipal {
        /// The name asked for.
        name: String,
    },
    /// A principal with this name exists.
    #[error("principal `{name}` already exists")]
    PrincipalExists {
        /// The name.
        name: String,
    },
    /// The name of the implicit local admin.
    #[error("`{name}` is reserved for the implicit local admin; choose another name")]
    ReservedName {
        /// The name.
        name: String,
    },
    /// No token has this id.
    #[error("no API token `{id}`")]
    NoToken {
        /// The id asked for.
        id: String,
    },
    /// Revoke of a revoked token.
    #[error("API token `{id}` is already revoked")]
    AlreadyRevoked {
        /// The token's id.
        id: String,
    },
    /// The change would leave no admin able to authenticate.
    #[error("{what} would leave no admin with an API token; issue another admin a token first")]
    LastAdmin {
        /// What was refused.
        what: String,
    },
    /// [`Store::local_admin`] after an admin got a token.
    #[error(
        "the implicit local admin is disabled once an admin has an API token; authenticate with a token"
    )]
    BootstrapClosed,
    /// The storage backend failed.
    #[error("database: {0}")]
    Backend(crate::db::BackendError),
}

fn token_hash(token: &str) -> String {
    let mut hasher = blake3::Hasher::new_derive_key(TOKEN_DOMAIN);
    hasher.update(token.as_bytes());
    hasher.finalize().to_hex().to_string()
}

fn is_token_shape(token: &str) -> bool {
    token.strip_prefix(TOKEN_PREFIX).is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// Unrevoked tokens held by principals with the `admin` role.
fn live_admin_tokens_in(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT COUNT(*) FROM api_tokens t
         JOIN principal_roles r ON r.principal = t.principal AND r.role = 'admin'
         WHERE t.revoked_ms IS NULL",
        [],
        |r| r.get(0),
    )
}

fn roles_in(conn: &Connection, name: &str) -> rusqlite::Result<BTreeSet<Role>> {
    let mut stmt = conn.prepare_cached("SELECT role FROM principal_roles WHERE principal = ?1")?;
    let rows = stmt.query_map([name], |r| r.get::<_, String>(0))?;
    let mut roles = BTreeSet::new();
    for role in rows {
        // The CHECK constraint admits only known roles.
        if let Ok(role) = role?.parse() {
            roles.insert(role);
        }
    }
    Ok(roles)
}

fn principal_in(conn: &Connection, name: &str) -> rusqlite::Result<Option<PrincipalRecord>> {
    let Some((created_ms, created_by, live_tokens)) = conn
        .query_row(
            "SELECT created_ms, created_by,
                (SELECT COUNT(*) FROM api_tokens t WHERE t.principal = p.name AND t.revoked_ms IS NULL)
             FROM principals p WHERE name = ?1",
            [name],
            |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)?)),
        )
        .optional()?
    else {
        return Ok(None);
    };
    Ok(Some(PrincipalRecord {
        name: name.to_string(),
        roles: roles_in(conn, name)?.into_iter().collect(),
        created_ms,
        created_by,
        live_tokens: super::from_sql_int(live_tokens),
    }))
}

fn token_in(conn: &Connection, id: &str) -> rusqlite::Result<Option<TokenRecord>> {
    conn.query_row(
        &format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = ?1"),
        [id],
        token_row,
    )
    .optional()
}

const TOKEN_COLUMNS: &str =
    "id, principal, issued_ms, issued_by, revoked_ms, revoked_by, revoke_reason";

fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRecord> {
    let revoked_ms: Option<i64> = r.get(4)?;
    Ok(TokenRecord {
        id: r.get(0)?,
        principal: r.get(1)?,
        issued_ms: r.get(2)?,
        issued_by: r.get(3)?,
        revoked: match revoked_ms {
            Some(at_ms) => Some(Revocation {
                at_ms,
                actor: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                reason: r.get::<_, Option<String>>(6)?.unwrap_or_default(),
            }),
            None => None,
        },
    })
}

fn check_principal_name(name: &str) -> Result<(), AuthError> {
    check_name("principal", name)?;
    if name == LOCAL_ADMIN {
        return Err(AuthError::ReservedName { name: name.into() });
    }
    Ok(())
}

fn write_roles_in(conn: &Connection, name: &str, roles: &BTreeSet<Role>) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM principal_roles WHERE principal = ?1", [name])?;
    for role in roles {
        conn.execute(
            "INSERT INTO principal_roles (principal, role) VALUES (?1, ?2)",
            [name, role.as_str()],
        )?;
    }
    Ok(())
}

impl Store {
    /// [`Governance::local_admin`](crate::Governance::local_admin) on this store.
    pub fn local_admin(&self) -> Result<Principal, AuthError> {
        let conn = self.conn();
        if live_admin_tokens_in(&conn)? > 0 {
            return Err(AuthError::BootstrapClosed);
        }
        Ok(Principal {
            name: LOCAL_ADMIN.to_string(),
            roles: Role::ALL.into_iter().collect(),
            local: true,
        })
    }

    /// [`Governance::add_principal`](crate::Governance::add_principal) on this store.
    pub fn add_principal(
        &self,
        name: &str,
        roles: &[Role],
        change: &Change<'_>,
    ) -> Result<PrincipalChange, AuthError> {
        check_principal_name(name)?;
        change.check()?;
        let roles: BTreeSet<Role> = roles.iter().copied().collect();
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if principal_in(&tx, name)?.is_some() {
            return Err(AuthError::PrincipalExists { name: name.into() });
        }
        tx.execute(
            "INSERT INTO principals (name, created_ms, created_by) VALUES (?1, ?2, ?3)",
            params![name, change.at_ms, change.actor],
        )?;
        write_roles_in(&tx, name, &roles)?;
        let record = PrincipalChange {
            name: name.to_string(),
            roles: roles.into_iter().collect(),
            previous: None,
            actor: change.actor.to_string(),
            reason: change.reason.to_string(),
            at_ms: change.at_ms,
        };
        self.commit_recorded(tx, "principal", change.at_ms, &record)?;
        Ok(record)
    }

    /// [`Governance::set_roles`](crate::Governance::set_roles) on this store.
    pub fn set_roles(
        &self,
        name: &str,
        roles: &[Role],
        change: &Change<'_>,
    ) -> Result<PrincipalChange, AuthError> {
        check_principal_name(name)?;
        change.check()?;
        let roles: BTreeSet<Role> = roles.iter().copied().collect();
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let before =
            principal_in(&tx, name)?.ok_or_else(|| AuthError::NoPrincipal { name: name.into() })?;
        let had_admin_tokens = live_admin_tokens_in(&tx)? > 0;
        write_roles_in(&tx, name, &roles)?;
        if had_admin_tokens && live_admin_tokens_in(&tx)? == 0 {
            return Err(AuthError::LastAdmin {
                what: format!("taking `admin` from `{name}`"),
            });
        }
        let record = PrincipalChange {
            name: name.to_string(),
            roles: roles.into_iter().collect(),
            previous: Some(before.roles),
            actor: change.actor.to_string(),
            reason: change.reason.to_string(),
            at_ms: change.at_ms,
        };
        self.commit_recorded(tx, "principal", change.at_ms, &record)?;
        Ok(record)
    }

    /// [`Governance::principals`](crate::Governance::principals) on this store.
    pub fn principals(&self) -> Result<Vec<PrincipalRecord>, AuthError> {
        let conn = self.conn();
        let names = {
            let mut stmt = conn.prepare("SELECT name FROM principals ORDER BY name")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            out.extend(principal_in(&conn, &name)?);
        }
        Ok(out)
    }

    /// [`Governance::principal`](crate::Governance::principal) on this store.
    pub fn principal(&self, name: &str) -> Result<PrincipalRecord, AuthError> {
        check_name("principal", name)?;
        let conn = self.conn();
        principal_in(&conn, name)?.ok_or_else(|| AuthError::NoPrincipal { name: name.into() })
    }

    /// [`Governance::issue_token`](crate::Governance::issue_token) on this store.
    pub fn issue_token(&self, name: &str, change: &Change<'_>) -> Result<IssuedToken, AuthError> {
        check_principal_name(name)?;
        change.check()?;
        let mut secret = [0u8; 32];
        rand_core::OsRng.fill_bytes(&mut secret);
        let token = format!("{TOKEN_PREFIX}{}", hex::encode(secret));
        let hash = token_hash(&token);
        // The id is a prefix of the hash: public, and useless for guessing
        // the token.
        let id = hash[..16].to_string();
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if principal_in(&tx, name)?.is_none() {
            return Err(AuthError::NoPrincipal { name: name.into() });
        }
        tx.execute(
            "INSERT INTO api_tokens (id, hash, principal, issued_ms, issued_by)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, hash, name, change.at_ms, change.actor],
        )?;
        let record = token_in(&tx, &id)?.ok_or_else(|| AuthError::NoToken { id: id.clone() })?;
        self.commit_recorded(tx, "token-issued", change.at_ms, &record)?;
        Ok(IssuedToken { token, record })
    }

    /// [`Governance::revoke_token`](crate::Governance::revoke_token) on this store.
    pub fn revoke_token(&self, id: &str, change: &Change<'_>) -> Result<TokenRecord, AuthError> {
        change.check()?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let token = token_in(&tx, id)?.ok_or_else(|| AuthError::NoToken { id: id.into() })?;
        if token.revoked.is_some() {
            return Err(AuthError::AlreadyRevoked { id: id.into() });
        }
        let had_admin_tokens = live_admin_tokens_in(&tx)? > 0;
        tx.execute(
            "UPDATE api_tokens SET revoked_ms = ?2, revoked_by = ?3, revoke_reason = ?4 WHERE id = ?1",
            params![id, change.at_ms, change.actor, change.reason],
        )?;
        if had_admin_tokens && live_admin_tokens_in(&tx)? == 0 {
            return Err(AuthError::LastAdmin {
                what: format!("revoking token `{id}`"),
            });
        }
        let record = token_in(&tx, id)?.ok_or_else(|| AuthError::NoToken { id: id.into() })?;
        self.commit_recorded(tx, "token-revoked", change.at_ms, &record)?;
        Ok(record)
    }

    /// [`Governance::tokens`](crate::Governance::tokens) on this store.
    pub fn tokens(&self, principal: Option<&str>) -> Result<Vec<TokenRecord>, AuthError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE (?1 IS NULL OR principal = ?1)
             ORDER BY issued_ms, id"
        ))?;
        let rows = stmt.query_map([principal], token_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// [`Governance::authenticate`](crate::Governance::authenticate) on this store.
    pub fn authenticate(&self, token: &str) -> Result<Principal, AuthError> {
        let token = token.trim();
        if !is_token_shape(token) {
            return Err(AuthError::Malformed);
        }
        let hash = token_hash(token);
        let conn = self.conn();
        let (id, name, revoked_ms): (String, String, Option<i64>) = conn
            .prepare_cached("SELECT id, principal, revoked_ms FROM api_tokens WHERE hash = ?1")?
            .query_row([&hash], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?
            .ok_or(AuthError::UnknownToken)?;
        if revoked_ms.is_some() {
            return Err(AuthError::RevokedToken { id });
        }
        Ok(Principal {
            roles: roles_in(&conn, &name)?,
            name,
            local: false,
        })
    }
}

crate::db::from_backend!(AuthError);
