//! Reading the audit log: verify, a run's entries, export.

use super::{Error, Gatehouse, Operation};
use gatehouse_store::{ConsistencyProof, Entry, Query, SignedReceipt, Verified, VerifyError};

/// What `verify` found: the log sound, or the first entry that is not.
pub type Verification = Result<Verified, VerifyError>;

/// Export formats of the audit log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// One entry per line (JSON Lines).
    Jsonl,
    /// An OTLP/JSON ExportTraceServiceRequest (OpenTelemetry GenAI
    /// conventions).
    OtlpJson,
}

impl Gatehouse {
    /// Check the hash chain and the checkpoint signatures; name the first
    /// bad entry.
    pub fn verify(&self) -> Result<Verification, Error> {
        self.authorize(Operation::ReadAudit)?;
        Ok(self.log.verify()?)
    }

    /// [`Gatehouse::verify`], then check the log against every head the
    /// witness in `dir` holds (truncation and rollback are named).
    pub fn verify_witnessed(&self, dir: &std::path::Path) -> Result<Verification, Error> {
        self.authorize(Operation::ReadAudit)?;
        Ok(self.log.verify_witnessed(dir)?)
    }

    /// The entries of one run, in order.
    pub fn run_entries(&self, run_id: &str) -> Result<Vec<Entry>, Error> {
        self.authorize(Operation::ReadAudit)?;
        let entries = self.log.run(run_id)?;
        if entries.is_empty() {
            return Err(Error::NotFound(format!(
                "no run `{run_id}` in the audit log"
            )));
        }
        Ok(entries)
    }

    /// The entries matching `q` (by run, action, agent, kind, time), in
    /// order: indexed lookups, not scans of the log.
    pub fn query(&self, q: &Query) -> Result<Vec<Entry>, Error> {
        self.authorize(Operation::ReadAudit)?;
        Ok(self.log.query(q)?)
    }

    /// The receipt of entry `seq`: the entry, the newest signed tree head
    /// and the inclusion proof, checkable offline with the log key
    /// ([`gatehouse_store::check_receipt`]).
    pub fn receipt(&self, seq: u64) -> Result<SignedReceipt, Error> {
        self.authorize(Operation::ReadAudit)?;
        Ok(self.log.receipt(seq)?)
    }

    /// A consistency proof from the signed tree head at `from` entries to
    /// the newest.
    pub fn prove(&self, from: u64) -> Result<ConsistencyProof, Error> {
        self.authorize(Operation::ReadAudit)?;
        Ok(self.log.consistency(from)?)
    }

    /// The log's public key (hex) and origin, for auditors to pin.
    pub fn log_key(&self) -> Result<(String, String), Error> {
        self.authorize(Operation::ReadAudit)?;
        let (public, origin) = self.log.log_key();
        Ok((hex_encode(&public), origin))
    }

    /// Write the entries at or after `since_ms` to `out` in `format`.
    pub fn export(
        &self,
        format: ExportFormat,
        since_ms: Option<i64>,
        out: &mut dyn std::io::Write,
    ) -> Result<usize, Error> {
        self.authorize(Operation::ReadAudit)?;
        let entries = self.log.entries(0, since_ms)?;
        let io = |e: std::io::Error| Error::file(std::path::Path::new("<output>"), e);
        let ser = |e: serde_json::Error| Error::Serialise {
            what: "an audit entry",
            reason: e.to_string(),
        };
        match format {
            ExportFormat::Jsonl => {
                for e in &entries {
                    serde_json::to_writer(&mut *out, e).map_err(ser)?;
                    writeln!(out).map_err(io)?;
                }
            }
            ExportFormat::OtlpJson => {
                serde_json::to_writer(&mut *out, &crate::audit::export_otlp(&entries))
                    .map_err(ser)?;
                writeln!(out).map_err(io)?;
            }
        }
        Ok(entries.len())
    }
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Read a public key given as 64 hex digits.
pub fn parse_public_key(text: &str) -> Result<[u8; 32], Error> {
    let t = text.trim();
    let bytes: Option<Vec<u8>> = (t.len() == 64)
        .then(|| {
            (0..32)
                .map(|i| u8::from_str_radix(&t[2 * i..2 * i + 2], 16).ok())
                .collect()
        })
        .flatten();
    bytes
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| Error::Invalid(format!("`{t}` is not a public key (64 hex digits)")))
}
