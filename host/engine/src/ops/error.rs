//! The operations layer's error: one type for every operation, each cause
//! typed; its message is one line that says what and where.

/// An operation failed; nothing it would have changed was changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request is malformed or refused; the message says what and why.
    #[error("{0}")]
    Invalid(String),
    /// Something named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A file could not be read or written.
    #[error("`{path}`: {source}")]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// This machine's clock is set before 1970.
    #[error("this machine's clock is set before 1970")]
    Clock,
    /// A value could not be serialised for the log; the operation failed
    /// closed rather than record `null`.
    #[error("cannot serialise {what}: {reason}")]
    Serialise {
        /// What.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] gatehouse_store::StoreError),
    /// The audit log failed.
    #[error(transparent)]
    Audit(#[from] gatehouse_store::AuditError),
    /// Authentication or authorisation failed.
    #[error(transparent)]
    Auth(#[from] gatehouse_store::AuthError),
    /// The caller lacks the role.
    #[error(transparent)]
    Forbidden(#[from] gatehouse_store::Forbidden),
    /// A registry operation failed.
    #[error(transparent)]
    Registry(#[from] gatehouse_store::RegistryError),
    /// A channel operation failed.
    #[error(transparent)]
    Channel(#[from] gatehouse_store::ChannelError),
    /// A reference did not resolve.
    #[error(transparent)]
    Resolve(#[from] gatehouse_store::ResolveError),
    /// A lock file is unusable.
    #[error(transparent)]
    Lock(#[from] gatehouse_store::LockError),
    /// A key operation failed.
    #[error(transparent)]
    Key(#[from] gatehouse_store::KeyError),
    /// A signature is refused.
    #[error(transparent)]
    Signature(#[from] gatehouse_store::SignatureError),
    /// The trust policy refused or is malformed.
    #[error(transparent)]
    Trust(#[from] gatehouse_store::TrustError),
    /// A kill switch operation failed.
    #[error(transparent)]
    Kill(#[from] gatehouse_store::KillError),
    /// An approval step failed.
    #[error(transparent)]
    Approval(#[from] gatehouse_store::ApprovalError),
    /// A content hash is malformed.
    #[error(transparent)]
    Hash(#[from] gatehouse_store::ParseHashError),
    /// A blob operation failed.
    #[error(transparent)]
    Blob(#[from] gatehouse_store::BlobError),
    /// A name or scope is malformed.
    #[error(transparent)]
    Input(#[from] gatehouse_store::InputError),
    /// A component could not be loaded.
    #[error(transparent)]
    Load(#[from] crate::LoadError),
    /// The engine could not be set up.
    #[error(transparent)]
    Engine(#[from] crate::EngineError),
    /// A limit is out of range.
    #[error(transparent)]
    Limit(#[from] crate::LimitError),
    /// A dataset is unusable.
    #[error(transparent)]
    Dataset(#[from] crate::DatasetError),
    /// Sender profiles are unusable.
    #[error(transparent)]
    Senders(#[from] crate::SendersError),
    /// Recording or reading a run failed.
    #[error(transparent)]
    Trail(#[from] crate::audit::TrailError),
    /// The learning loop refused or failed.
    #[error(transparent)]
    Learn(#[from] crate::learn::LearnError),
    /// Reading metrics from the log failed.
    #[error(transparent)]
    Metrics(#[from] crate::learn::metrics::MetricsError),
    /// The circuit breaker could not stop an agent.
    #[error(transparent)]
    Breaker(#[from] crate::govern::BreakerError),
    /// A build failed.
    #[error(transparent)]
    Build(#[from] crate::build::BuildError),
    /// A gate spec is malformed.
    #[error(transparent)]
    Gate(#[from] gatehouse_gates::GateError),
}

impl Error {
    /// An [`Error::File`] for `path`.
    pub fn file(path: &std::path::Path, source: std::io::Error) -> Self {
        Self::File {
            path: path.to_path_buf(),
            source,
        }
    }
}
