//! Opening the database: one SQLite file in WAL mode with full
//! synchronisation, migrated per module.

use crate::audit::{HostKey, NewEntry, append_in};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// The database file inside a data directory.
pub const DB_FILE: &str = "gatehouse.db";

/// A storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The data directory or database file could not be used.
    #[error("data directory `{path}`: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The storage backend failed.
    #[error("database: {0}")]
    Backend(crate::db::BackendError),
    /// The host key (which signs the audit log) is unusable.
    #[error("{0}")]
    HostKey(String),
    /// The audit log could not be brought up to date.
    #[error("audit log: {0}")]
    AuditLog(String),
    /// The database was written by a newer gatehouse.
    #[error("database schema `{module}` is at version {found}; this gatehouse knows up to {known}")]
    SchemaTooNew {
        /// The module whose schema is too new.
        module: String,
        /// Its version in the file.
        found: i64,
        /// The newest this build knows.
        known: i64,
    },
}

/// What kind of backend failure an operation met.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackendErrorKind {
    /// Another writer held the database past the busy timeout.
    Busy,
    /// The database file is damaged or not a database.
    Corrupt,
    /// A constraint refused the write (a foreign key, a unique key).
    Constraint,
    /// The disk is full, or reading or writing failed.
    Io,
    /// A value read back is not what was written.
    Value,
    /// Anything else.
    Other,
}

/// A failure of the storage backend, typed by kind; the backend's own error
/// types never appear in gatehouse's public API.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct BackendError {
    kind: BackendErrorKind,
    message: String,
}

impl BackendError {
    /// What kind of failure it was.
    pub fn kind(&self) -> BackendErrorKind {
        self.kind
    }
}

#[doc(hidden)]
impl From<rusqlite::Error> for BackendError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as C;
        let kind = match &e {
            rusqlite::Error::SqliteFailure(f, _) => match f.code {
                C::DatabaseBusy | C::DatabaseLocked => BackendErrorKind::Busy,
                C::DatabaseCorrupt | C::NotADatabase => BackendErrorKind::Corrupt,
                C::ConstraintViolation => BackendErrorKind::Constraint,
                C::DiskFull | C::SystemIoFailure | C::CannotOpen => BackendErrorKind::Io,
                _ => BackendErrorKind::Other,
            },
            rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::IntegralValueOutOfRange(..)
            | rusqlite::Error::InvalidColumnType(..) => BackendErrorKind::Value,
            _ => BackendErrorKind::Other,
        };
        Self {
            kind,
            message: e.to_string(),
        }
    }
}

/// Conversions from the backend's errors into each error type of this
/// crate (so `?` reads well inside it), through [`BackendError`].
macro_rules! from_backend {
    ($($t:ty),+) => {
        $(
            #[doc(hidden)]
            impl From<rusqlite::Error> for $t {
                fn from(e: rusqlite::Error) -> Self {
                    Self::Backend(e.into())
                }
            }
            impl From<$crate::db::BackendError> for $t {
                fn from(e: $crate::db::BackendError) -> Self {
                    Self::Backend(e)
                }
            }
        )+
    };
}
pub(crate) use from_backend;

/// The per-user default data directory: `$GATEHOUSE_DATA`, else
/// `$XDG_DATA_HOME/gatehouse`, else `~/.local/share/gatehouse`.
pub fn default_data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("GATEHOUSE_DATA") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_DATA_HOME") {
        return PathBuf::from(d).join("gatehouse");
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".local/share/gatehouse"),
        None => PathBuf::from(".gatehouse"),
    }
}

/// The store: one SQLite connection per process-side handle, serialised
/// by a mutex. Several processes may open the same directory at once;
/// SQLite's locking keeps them consistent.
pub struct Store {
    dir: PathBuf,
    conn: Mutex<Connection>,
    /// The key that signs the audit log's checkpoints; every state change
    /// appends its audit entry, signed, in its own transaction.
    key: HostKey,
    /// Where every signed tree head is also appended, outside the store.
    witness: std::sync::RwLock<Option<PathBuf>>,
}

/// The file in a witness directory that holds the signed tree heads.
pub const WITNESS_FILE: &str = "gatehouse-heads.log";

/// The line between two heads in a witness file.
pub(crate) const WITNESS_SEPARATOR: &str = "~~~\n";

/// One module's schema: its name and its migrations, in order. Migration
/// `i` brings the module from version `i` to `i + 1`.
pub(crate) struct Schema {
    pub(crate) module: &'static str,
    pub(crate) migrations: &'static [&'static str],
    /// Run after the migrations, in the same transaction, with the version
    /// the module was at before (0 for a new database): fills what a
    /// migration adds from the rows already there.
    pub(crate) backfill: Option<Backfill>,
}

/// A module's backfill step (see [`Schema::backfill`]).
pub(crate) type Backfill =
    fn(&rusqlite::Transaction<'_>, i64, &HostKey) -> Result<(), crate::audit::AuditError>;

/// Every module's schema, applied on open.
const SCHEMAS: &[&Schema] = &[
    &crate::audit::SCHEMA,
    // The registry's modules, in dependency order (foreign keys point up).
    &crate::blobs::SCHEMA,
    &crate::registry::SCHEMA,
    &crate::signing::SCHEMA,
    &crate::trust::SCHEMA,
    &crate::channels::SCHEMA,
    &crate::lock::SCHEMA,
    // Kill-switches, counters, exposure, approvals, principals.
    &crate::governance::SCHEMA,
];

impl Store {
    /// Open (creating if needed) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(DB_FILE);
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(30))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // INVARIANT: FULL makes every commit durable before it returns; the
        // audit log acknowledges an entry only after its commit.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let key = HostKey::load_or_create(dir).map_err(|e| StoreError::HostKey(e.to_string()))?;
        let store = Self {
            dir: dir.to_path_buf(),
            conn: Mutex::new(conn),
            key,
            witness: std::sync::RwLock::new(None),
        };
        store.migrate()?;
        Ok(store)
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The host key signing the audit log's checkpoints.
    pub(crate) fn host_key(&self) -> &HostKey {
        &self.key
    }

    /// Commit `tx` together with the audit entry recording the change it
    /// made (`kind`, with `body` as its record): both are durable, or
    /// neither. A body that cannot be serialised fails the change; it is
    /// never recorded as `null`.
    pub(crate) fn commit_recorded<T: serde::Serialize>(
        &self,
        tx: rusqlite::Transaction<'_>,
        kind: &str,
        at_ms: i64,
        body: &T,
    ) -> rusqlite::Result<()> {
        let failed = |e: Box<dyn std::error::Error + Send + Sync>| {
            rusqlite::Error::ToSqlConversionFailure(e)
        };
        let body = serde_json::to_value(body).map_err(|e| failed(Box::new(e)))?;
        let entry = NewEntry {
            at_ms,
            kind: kind.to_string(),
            run_id: None,
            body,
        };
        let appended = append_in(&tx, &self.key, &[entry]).map_err(|e| failed(Box::new(e)))?;
        tx.commit()?;
        self.witness(appended.head.as_deref())
            .map_err(|e| failed(format!("witness: {e}").into()))
    }

    /// Also append every signed tree head to `dir`'s witness file
    /// ([`WITNESS_FILE`]): a record outside the store that a rollback or a
    /// truncation of the store cannot reach (keep it on another disk or
    /// machine).
    pub fn set_witness(&self, dir: Option<&Path>) {
        let mut w = self.witness.write().unwrap_or_else(|e| e.into_inner());
        *w = dir.map(Path::to_path_buf);
    }

    /// Hand a committed head to the witness, if one is set (durably).
    pub(crate) fn witness(&self, head: Option<&str>) -> std::io::Result<()> {
        let dir = self
            .witness
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let (Some(dir), Some(head)) = (dir, head) else {
            return Ok(());
        };
        use std::io::Write;
        std::fs::create_dir_all(&dir)?;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(WITNESS_FILE))?;
        f.write_all(head.as_bytes())?;
        f.write_all(WITNESS_SEPARATOR.as_bytes())?;
        f.sync_data()
    }

    /// The connection (for the modules of this crate).
    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        // A poisoned lock only means another thread panicked mid-call;
        // SQLite's own transactions keep the data consistent.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute("CREATE TABLE IF NOT EXISTS schema_version (module TEXT PRIMARY KEY, version INTEGER NOT NULL)", [])?;
        for schema in SCHEMAS {
            let found: i64 = tx
                .query_row(
                    "SELECT version FROM schema_version WHERE module = ?1",
                    [schema.module],
                    |r| r.get(0),
                )
                .unwrap_or(0);
            let known = schema.migrations.len() as i64;
            if found > known {
                return Err(StoreError::SchemaTooNew {
                    module: schema.module.to_string(),
                    found,
                    known,
                });
            }
            for sql in &schema.migrations[found as usize..] {
                tx.execute_batch(sql)?;
            }
            if let Some(backfill) = schema.backfill
                && found < known
            {
                backfill(&tx, found, &self.key).map_err(|e| match e {
                    crate::audit::AuditError::Store(e) => e,
                    other => StoreError::AuditLog(other.to_string()),
                })?;
            }
            tx.execute(
                "INSERT INTO schema_version (module, version) VALUES (?1, ?2) ON CONFLICT(module) DO UPDATE SET version = ?2",
                rusqlite::params![schema.module, known],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}

crate::db::from_backend!(StoreError);
