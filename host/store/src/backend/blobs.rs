//! Content-addressed blobs: put, get, references, garbage collection.

use super::*;

/// Content-addressed blobs: put, get, references, garbage collection.
pub trait Blobs {
    /// Store `bytes` and return their blake3. Idempotent: putting the same
    /// bytes again changes nothing (and repairs the row if it was damaged).
    ///
    /// A blob that nothing references may be collected by [`Self::gc`];
    /// a holder outside the registry should call [`Self::add_blob_ref`]
    /// *before* `put` so that no gc can run in between.
    fn put(&self, bytes: &[u8]) -> Result<Hash, BlobError>;

    /// The bytes of blob `hash`, re-hashed: [`BlobError::Corrupt`] if they
    /// no longer match, [`BlobError::NotFound`] if there is no such blob.
    fn get(&self, hash: &Hash) -> Result<Vec<u8>, BlobError>;

    /// Whether blob `hash` is stored (its bytes are not checked).
    fn contains(&self, hash: &Hash) -> Result<bool, BlobError>;

    /// Record that `holder` (for instance `audit:1234`) references blob
    /// `hash`, so that [`Self::gc`] keeps it. Idempotent. The blob need not
    /// exist yet.
    fn add_blob_ref(&self, hash: &Hash, holder: &str) -> Result<(), BlobError>;

    /// Drop `holder`'s reference to blob `hash` (if any).
    fn remove_blob_ref(&self, hash: &Hash, holder: &str) -> Result<(), BlobError>;

    /// List — and unless `dry_run`, delete — the blobs that nothing
    /// references: no artifact, no channel move (current or historical
    /// pointer, from or to), no registered lock or lock entry, no trust
    /// policy, no [`Self::add_blob_ref`] holder.
    ///
    /// The listing and the deletion happen in one `IMMEDIATE` transaction,
    /// so nothing can start referencing a blob in between; and the schema's
    /// foreign keys make SQLite itself refuse to delete a blob that an
    /// artifact, channel move, lock or trust policy still references.
    fn gc(&self, dry_run: bool) -> Result<GcReport, BlobError>;

    /// Check the whole store: SQLite's `integrity_check`, every foreign key
    /// (no channel, artifact, lock or policy refers to a missing blob or
    /// artifact), and every blob re-hashed. An empty list means all is well.
    /// Reads every byte; meant for `gatehouse store check` and tests, not
    /// for the hot path.
    fn check_integrity(&self) -> Result<Vec<IntegrityProblem>, BlobError>;
}

impl Blobs for Store {
    fn put(&self, bytes: &[u8]) -> Result<Hash, BlobError> {
        Store::put(self, bytes)
    }

    fn get(&self, hash: &Hash) -> Result<Vec<u8>, BlobError> {
        Store::get(self, hash)
    }

    fn contains(&self, hash: &Hash) -> Result<bool, BlobError> {
        Store::contains(self, hash)
    }

    fn add_blob_ref(&self, hash: &Hash, holder: &str) -> Result<(), BlobError> {
        Store::add_blob_ref(self, hash, holder)
    }

    fn remove_blob_ref(&self, hash: &Hash, holder: &str) -> Result<(), BlobError> {
        Store::remove_blob_ref(self, hash, holder)
    }

    fn gc(&self, dry_run: bool) -> Result<GcReport, BlobError> {
        Store::gc(self, dry_run)
    }

    fn check_integrity(&self) -> Result<Vec<IntegrityProblem>, BlobError> {
        Store::check_integrity(self)
    }
}
