//! The audit log: append-only, hash-chained, signed at every commit.

use super::*;

/// The audit log: append-only, hash-chained, signed at every commit.
pub trait Audit {
    /// Append entries in one durable transaction, chained to the newest
    /// entry, with a signed checkpoint over the last; returns once durable.
    fn append(&self, entries: &[NewEntry]) -> Result<Vec<Receipt>, AuditError>;

    /// The entries matching `q`, in log order.
    fn query(&self, q: &Query) -> Result<Vec<Entry>, AuditError>;

    /// Check every hash, link, position and checkpoint signature;
    /// `Ok(Err(..))` names the first entry that does not match.
    fn verify(&self) -> Result<Result<Verified, VerifyError>, AuditError>;

    /// Sign a checkpoint over the newest entry (none on an empty log).
    fn checkpoint(&self, at_ms: i64) -> Result<Option<u64>, AuditError>;
}

impl Audit for AuditLog {
    fn append(&self, entries: &[NewEntry]) -> Result<Vec<Receipt>, AuditError> {
        AuditLog::append(self, entries)
    }

    fn query(&self, q: &Query) -> Result<Vec<Entry>, AuditError> {
        AuditLog::query(self, q)
    }

    fn verify(&self) -> Result<Result<Verified, VerifyError>, AuditError> {
        AuditLog::verify(self)
    }

    fn checkpoint(&self, at_ms: i64) -> Result<Option<u64>, AuditError> {
        AuditLog::checkpoint(self, at_ms)
    }
}
