//! Exposure caps: which units (contacts, requests) see a candidate version,
//! sticky per unit and never more than a percentage of the units assigned.

use super::{check_key, from_sql_int};
use crate::db::Store;
use crate::input::InputError;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

const BUCKET_DOMAIN: &str = "gatehouse exposure bucket v1";

/// A unit's assignment under an exposure key, as [`Store::expose`] returns
/// it (for the decision and the audit log).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exposure {
    /// The experiment or version key.
    pub key: String,
    /// The unit (a contact id, a request id).
    pub unit: String,
    /// Whether the unit sees the candidate.
    pub admitted: bool,
    /// Whether this call assigned it (false: an earlier assignment,
    /// returned unchanged).
    pub new: bool,
    /// When the unit was first assigned.
    pub assigned_ms: i64,
    /// The cap this call was made with, in percent.
    pub cap_percent: u8,
    /// The key's counts just after this call.
    pub counts: ExposureCounts,
}

/// How many units a key has assigned, and how many of them it admitted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExposureCounts {
    /// Units assigned (admitted or not).
    pub units: u64,
    /// Units admitted to the candidate.
    pub admitted: u64,
}

/// An exposure call failed.
#[derive(Debug, thiserror::Error)]
pub enum ExposureError {
    /// A key, unit or cap was refused.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The storage backend failed.
    #[error("database: {0}")]
    Backend(crate::db::BackendError),
}

/// The unit's bucket under `key`, 0–99: a uniform draw that depends only
/// on the pair, so the candidate group is a spread of units rather than
/// the first ones seen.
fn bucket(key: &str, unit: &str) -> u64 {
    let mut hasher = blake3::Hasher::new_derive_key(BUCKET_DOMAIN);
    hasher.update(&(key.len() as u64).to_le_bytes());
    hasher.update(key.as_bytes());
    hasher.update(unit.as_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest.as_bytes()[..8]);
    u64::from_le_bytes(first) % 100
}

fn check_cap(cap_percent: u8) -> Result<(), InputError> {
    if cap_percent > 100 {
        return Err(InputError::new(
            "exposure cap",
            &cap_percent.to_string(),
            "use a percentage from 0 to 100",
        ));
    }
    Ok(())
}

fn counts_in(conn: &Connection, key: &str) -> rusqlite::Result<ExposureCounts> {
    Ok(conn
        .prepare_cached("SELECT units, admitted FROM exposure_totals WHERE key = ?1")?
        .query_row([key], |r| {
            Ok(ExposureCounts {
                units: from_sql_int(r.get(0)?),
                admitted: from_sql_int(r.get(1)?),
            })
        })
        .optional()?
        .unwrap_or_default())
}

/// The unit's assignment, if any: (admitted, assigned_ms).
fn assigned_in(conn: &Connection, key: &str, unit: &str) -> rusqlite::Result<Option<(bool, i64)>> {
    conn.prepare_cached("SELECT admitted, assigned_ms FROM exposures WHERE key = ?1 AND unit = ?2")?
        .query_row([key, unit], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
}

impl Store {
    /// [`Counters::expose`](crate::Counters::expose) on this store.
    pub fn expose(
        &self,
        key: &str,
        unit: &str,
        cap_percent: u8,
        at_ms: i64,
    ) -> Result<Exposure, ExposureError> {
        check_key("exposure key", key)?;
        check_key("unit", unit)?;
        check_cap(cap_percent)?;
        {
            // Most calls find an assignment: answer those without the write lock.
            let conn = self.conn();
            if let Some((admitted, assigned_ms)) = assigned_in(&conn, key, unit)? {
                let counts = counts_in(&conn, key)?;
                return Ok(Exposure {
                    key: key.to_string(),
                    unit: unit.to_string(),
                    admitted,
                    new: false,
                    assigned_ms,
                    cap_percent,
                    counts,
                });
            }
        }
        // Another thread or process may assign it meanwhile: the batch
        // path re-reads under the write lock.
        self.expose_all(key, &[unit], cap_percent, at_ms)?
            .pop()
            .ok_or_else(|| InputError::new("unit", unit, "was not assigned").into())
    }

    /// [`Counters::expose_all`](crate::Counters::expose_all) on this store.
    pub fn expose_all(
        &self,
        key: &str,
        units: &[&str],
        cap_percent: u8,
        at_ms: i64,
    ) -> Result<Vec<Exposure>, ExposureError> {
        check_key("exposure key", key)?;
        for unit in units {
            check_key("unit", unit)?;
        }
        check_cap(cap_percent)?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut counts = counts_in(&tx, key)?;
        let cap = u64::from(cap_percent);
        let mut out = Vec::with_capacity(units.len());
        for unit in units {
            if let Some((admitted, assigned_ms)) = assigned_in(&tx, key, unit)? {
                out.push(Exposure {
                    key: key.to_string(),
                    unit: unit.to_string(),
                    admitted,
                    new: false,
                    assigned_ms,
                    cap_percent,
                    counts,
                });
                continue;
            }
            let total = counts.units + 1;
            let admitted = bucket(key, unit) < cap && (counts.admitted + 1) * 100 <= cap * total;
            counts = ExposureCounts {
                units: total,
                admitted: counts.admitted + u64::from(admitted),
            };
            tx.prepare_cached(
                "INSERT INTO exposures (key, unit, admitted, assigned_ms) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![key, unit, admitted, at_ms])?;
            out.push(Exposure {
                key: key.to_string(),
                unit: unit.to_string(),
                admitted,
                new: true,
                assigned_ms: at_ms,
                cap_percent,
                counts,
            });
        }
        tx.prepare_cached(
            "INSERT INTO exposure_totals (key, units, admitted) VALUES (?1, ?2, ?3)
             ON CONFLICT (key) DO UPDATE SET units = excluded.units, admitted = excluded.admitted",
        )?
        .execute(params![key, counts.units as i64, counts.admitted as i64])?;
        tx.commit()?;
        Ok(out)
    }

    /// [`Counters::exposure_counts`](crate::Counters::exposure_counts) on this store.
    pub fn exposure_counts(&self, key: &str) -> Result<ExposureCounts, ExposureError> {
        check_key("exposure key", key)?;
        let conn = self.conn();
        Ok(counts_in(&conn, key)?)
    }
}

crate::db::from_backend!(ExposureError);
