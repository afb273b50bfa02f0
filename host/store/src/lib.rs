//! gatehouse's state, in one embedded SQLite file under a data directory:
//! content-addressed blobs, the registry of versioned artifacts, channels,
//! signatures, and the hash-chained audit log.
//!
//! Everything stateful goes through [`Store`], so a server deployment can
//! later put PostgreSQL behind the same interface.

#![deny(missing_docs)]

mod audit;
mod backend;
mod blobs;
mod channels;
mod db;
mod governance;
mod input;
mod keys;
mod lock;
mod registry;
mod resolve;
mod signing;
mod trust;

pub use audit::{
    AuditError, AuditLog, AuditWriter, Checked, ConsistencyProof, Entry, HOST_KEY_FILE, HostKey,
    NewEntry, Query, Receipt, SignedReceipt, StoredEntry, Verified, VerifyError, check_consistency,
    check_head, check_receipt,
};
pub use backend::{Audit, Backend, Blobs, Counters, Governance, Registry};
pub use blobs::{BlobError, GcBlob, GcReport, Hash, IntegrityProblem, ParseHashError};
pub use channels::{
    ANY, ChannelError, ChannelMove, ChannelPointer, MoveOp, Pin, RollbackTo, Scope,
};
pub use db::{BackendError, BackendErrorKind, Store, StoreError, WITNESS_FILE, default_data_dir};
pub use governance::{
    Approval, ApprovalError, ApprovalId, ApprovalRequest, ApprovalStatus, AuthError, CapExceeded,
    Charge, Charged, CounterError, Exposure, ExposureCounts, ExposureError, Forbidden, IssuedToken,
    KillError, KillOp, KillRecord, LOCAL_ADMIN, Principal, PrincipalChange, PrincipalRecord,
    Reservation, ReservationId, ReservationState, Risk, Role, Settlement, TokenRecord, Vote,
    VoteDecision, Window,
};
pub use input::{Change, InputError, MAX_NAME_LEN};
pub use lock::{LOCK_SCHEMA, Lock, LockError};
pub use registry::{
    Artifact, ArtifactId, ArtifactKind, Publish, Published, RegistryError, SIGNATURE_DOMAIN,
};
pub use resolve::{Reference, ResolveError};
pub use signing::{
    KeyError, KeyId, KeyPair, KeyRecord, PublicKey, Revocation, Signature, SignatureError,
    SignatureStatus,
};
pub use trust::{
    Quorum, QuorumCheck, SignatureCheck, TRUST_POLICY_SCHEMA, TrustError, TrustPolicy,
    TrustPolicyRecord, TrustReport,
};
