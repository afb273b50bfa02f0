//! Reading the audit log: verify, a run's entries, export.

use super::{Error, Gatehouse, Operation};
use gatehouse_store::{Entry, Query, Verified, VerifyError};

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
