//! Counters for budgets, send counts and frequency caps: reservations that
//! check and charge several limits at once, all or none.

use super::{check_key, from_sql_int, to_sql_int};
use crate::db::Store;
use crate::input::{Change, InputError, check_who};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Which of a key's live charges count toward a limit.
///
/// A charge is *live* while its reservation is held or committed; a
/// released reservation's charges never count again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Window {
    /// Every live charge ever made to the key. For calendar periods (a
    /// daily budget), put the period in the key:
    /// `spend/day/2026-01-05/agent/outreach-eu`. This reads one row
    /// whatever the number of charges.
    Total,
    /// A sliding window of this many milliseconds (at least 1): at time
    /// `now`, a charge made at `t` counts if `t > now - ms`, that is for
    /// exactly `ms` milliseconds from `t` (a charge at `t` stops counting
    /// at `t + ms`). Charges stamped later than `now` (another host whose
    /// clock runs ahead) count too, so clock skew can only make a cap
    /// stricter, never looser. Costs one index range scan over the
    /// window's charges.
    Sliding {
        /// The window's length in milliseconds.
        ms: u64,
    },
}

impl Window {
    fn to_sql(self) -> Result<Option<i64>, InputError> {
        match self {
            Self::Total => Ok(None),
            Self::Sliding { ms: 0 } => Err(InputError::new(
                "window",
                "0",
                "a sliding window lasts at least 1 ms",
            )),
            Self::Sliding { ms } => Ok(Some(to_sql_int("window", ms)?)),
        }
    }

    fn from_sql(ms: Option<i64>) -> Self {
        match ms {
            None => Self::Total,
            Some(ms) => Self::Sliding {
                ms: from_sql_int(ms),
            },
        }
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Total => f.write_str("in total"),
            Self::Sliding { ms } => write!(f, "in the last {ms} ms"),
        }
    }
}

/// One limit to check and charge in a [`Store::reserve`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Charge<'a> {
    /// The counter: free text, 1–256 bytes, one line, e.g.
    /// `spend/day/2026-01-05/agent/outreach-eu` or
    /// `freq/email/contact/c-001`.
    pub key: &'a str,
    /// How much this action uses (cents, micros, sends: the caller's
    /// unit). Zero checks the limit without using any of it.
    pub amount: u64,
    /// The most the key may hold within the window, this charge included.
    /// Limits are not stored: each call passes the limit in force, so a
    /// promoted budget change applies to the next action.
    pub limit: u64,
    /// Which earlier charges count.
    pub window: Window,
}

impl<'a> Charge<'a> {
    /// A charge against the key's total ([`Window::Total`]).
    pub fn total(key: &'a str, amount: u64, limit: u64) -> Self {
        Self {
            key,
            amount,
            limit,
            window: Window::Total,
        }
    }

    /// A charge against a sliding window of `window_ms` milliseconds
    /// ([`Window::Sliding`]).
    pub fn sliding(key: &'a str, amount: u64, limit: u64, window_ms: u64) -> Self {
        Self {
            key,
            amount,
            limit,
            window: Window::Sliding { ms: window_ms },
        }
    }
}

/// A limit that a reservation would exceed: the first in the order given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("`{key}` would exceed its limit: {used} used {window} + {amount} requested > {limit}")]
pub struct CapExceeded {
    /// The counter key.
    pub key: String,
    /// Its limit.
    pub limit: u64,
    /// What its live charges in the window already use (earlier charges of
    /// the same reservation included).
    pub used: u64,
    /// What this charge asked for.
    pub amount: u64,
    /// The window counted.
    pub window: Window,
}

/// A reservation's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReservationId(pub i64);

impl fmt::Display for ReservationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for ReservationId {
    type Err = InputError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse()
            .map(Self)
            .map_err(|_| InputError::new("reservation id", s, "use a whole number"))
    }
}

/// Where a reservation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReservationState {
    /// Charged and counting; its action is still in the pipeline.
    Held,
    /// Its action went out: the charges count for good.
    Committed,
    /// Undone: its charges no longer count.
    Released,
}

impl ReservationState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Held => "held",
            Self::Committed => "committed",
            Self::Released => "released",
        }
    }

    fn from_sql(s: &str) -> Self {
        match s {
            "committed" => Self::Committed,
            "released" => Self::Released,
            _ => Self::Held,
        }
    }
}

impl fmt::Display for ReservationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One charge of a reservation, as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charged {
    /// The counter key.
    pub key: String,
    /// The amount charged.
    pub amount: u64,
    /// The limit checked.
    pub limit: u64,
    /// The window counted.
    pub window: Window,
    /// What the key used in the window just before this charge.
    pub used_before: u64,
}

/// How a reservation left the held state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settlement {
    /// Who committed or released it.
    pub actor: String,
    /// Why.
    pub reason: String,
    /// When.
    pub at_ms: i64,
}

/// A reservation: charges made together by [`Store::reserve`]. Every
/// operation on one returns it, for the audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    /// Its id.
    pub id: ReservationId,
    /// The action it was made for (the caller's reference: a run and
    /// action id).
    pub action: String,
    /// Held, committed or released.
    pub state: ReservationState,
    /// When it was made; its charges are stamped with this time.
    pub reserved_ms: i64,
    /// Its charges, in the order given.
    pub charges: Vec<Charged>,
    /// The commit or release, once settled.
    pub settled: Option<Settlement>,
}

/// A reservation, commit, release or counter read failed.
#[derive(Debug, thiserror::Error)]
pub enum CounterError {
    /// A key, amount, limit, window, action or change was refused.
    #[error(transparent)]
    Input(#[from] InputError),
    /// A limit would be exceeded; nothing was charged.
    #[error(transparent)]
    CapExceeded(#[from] CapExceeded),
    /// No reservation has this id.
    #[error("no reservation `{id}`")]
    NoReservation {
        /// The id asked for.
        id: ReservationId,
    },
    /// Commit or release of a reservation that is no longer held.
    #[error("reservation `{id}` is already {state}")]
    NotHeld {
        /// The reservation.
        id: ReservationId,
        /// Its state.
        state: ReservationState,
    },
    /// The storage backend failed.
    #[error("database: {0}")]
    Backend(crate::db::BackendError),
}

/// A charge checked and converted for SQLite.
struct SqlCharge<'a> {
    key: &'a str,
    amount: i64,
    limit: i64,
    window_ms: Option<i64>,
}

fn check_charge<'a>(c: &Charge<'a>) -> Result<SqlCharge<'a>, InputError> {
    check_key("counter key", c.key)?;
    Ok(SqlCharge {
        key: c.key,
        amount: to_sql_int("amount", c.amount)?,
        limit: to_sql_int("limit", c.limit)?,
        window_ms: c.window.to_sql()?,
    })
}

/// What `key`'s live charges use at `at_ms` in the window.
fn usage_in(
    conn: &Connection,
    key: &str,
    window_ms: Option<i64>,
    at_ms: i64,
) -> rusqlite::Result<i64> {
    match window_ms {
        None => Ok(conn
            .prepare_cached("SELECT used FROM counters WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?
            .unwrap_or(0)),
        Some(ms) => conn
            .prepare_cached(
                "SELECT COALESCE(SUM(amount), 0) FROM reservation_charges
                 WHERE live = 1 AND key = ?1 AND at_ms > ?2",
            )?
            .query_row(params![key, at_ms.saturating_sub(ms)], |r| r.get(0)),
    }
}

fn reservation_in(
    conn: &Connection,
    id: ReservationId,
) -> Result<Option<Reservation>, rusqlite::Error> {
    let Some(mut reservation) = conn
        .prepare_cached(
            "SELECT id, action, state, reserved_ms, settled_ms, settled_by, settle_reason
             FROM reservations WHERE id = ?1",
        )?
        .query_row([id.0], reservation_row)
        .optional()?
    else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(
        "SELECT key, amount, limit_value, window_ms, used_before
         FROM reservation_charges WHERE reservation = ?1 ORDER BY pos",
    )?;
    let rows = stmt.query_map([id.0], |r| {
        Ok(Charged {
            key: r.get(0)?,
            amount: from_sql_int(r.get(1)?),
            limit: from_sql_int(r.get(2)?),
            window: Window::from_sql(r.get(3)?),
            used_before: from_sql_int(r.get(4)?),
        })
    })?;
    reservation.charges = rows.collect::<Result<Vec<_>, _>>()?;
    Ok(Some(reservation))
}

fn reservation_row(r: &Row<'_>) -> rusqlite::Result<Reservation> {
    let state: String = r.get(2)?;
    let settled_ms: Option<i64> = r.get(4)?;
    Ok(Reservation {
        id: ReservationId(r.get(0)?),
        action: r.get(1)?,
        state: ReservationState::from_sql(&state),
        reserved_ms: r.get(3)?,
        charges: Vec::new(),
        settled: match settled_ms {
            Some(at_ms) => Some(Settlement {
                actor: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                reason: r.get::<_, Option<String>>(6)?.unwrap_or_default(),
                at_ms,
            }),
            None => None,
        },
    })
}

/// Move a held reservation to `to` (in the caller's transaction).
fn settle_in(
    conn: &Connection,
    id: ReservationId,
    to: ReservationState,
    change: &Change<'_>,
) -> Result<Reservation, CounterError> {
    let moved = conn
        .prepare_cached(
            "UPDATE reservations SET state = ?2, settled_ms = ?3, settled_by = ?4, settle_reason = ?5
             WHERE id = ?1 AND state = 'held'",
        )?
        .execute(params![
            id.0,
            to.as_str(),
            change.at_ms,
            change.actor,
            change.reason
        ])?;
    if moved == 0 {
        return Err(match reservation_in(conn, id)? {
            Some(r) => CounterError::NotHeld { id, state: r.state },
            None => CounterError::NoReservation { id },
        });
    }
    if to == ReservationState::Released {
        // INVARIANT: `counters.used` is the sum of the key's live charges.
        conn.prepare_cached(
            "UPDATE counters SET used = used - (
                 SELECT SUM(c.amount) FROM reservation_charges c
                 WHERE c.reservation = ?1 AND c.key = counters.key)
             WHERE key IN (SELECT key FROM reservation_charges WHERE reservation = ?1)",
        )?
        .execute([id.0])?;
        conn.prepare_cached("UPDATE reservation_charges SET live = 0 WHERE reservation = ?1")?
            .execute([id.0])?;
    }
    reservation_in(conn, id)?.ok_or(CounterError::NoReservation { id })
}

impl Store {
    /// [`Counters::reserve`](crate::Counters::reserve) on this store.
    pub fn reserve(
        &self,
        action: &str,
        charges: &[Charge<'_>],
        at_ms: i64,
    ) -> Result<Reservation, CounterError> {
        check_who("action", action)?;
        let checked = charges
            .iter()
            .map(check_charge)
            .collect::<Result<Vec<_>, _>>()?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached(
            "INSERT INTO reservations (action, state, reserved_ms) VALUES (?1, 'held', ?2)",
        )?
        .execute(params![action, at_ms])?;
        let id = ReservationId(tx.last_insert_rowid());
        let mut lines = Vec::with_capacity(checked.len());
        for (pos, c) in checked.iter().enumerate() {
            let used = usage_in(&tx, c.key, c.window_ms, at_ms)?;
            if used
                .checked_add(c.amount)
                .is_none_or(|after| after > c.limit)
            {
                // Dropping `tx` rolls back this reservation's earlier charges.
                return Err(CapExceeded {
                    key: c.key.to_string(),
                    limit: from_sql_int(c.limit),
                    used: from_sql_int(used),
                    amount: from_sql_int(c.amount),
                    window: Window::from_sql(c.window_ms),
                }
                .into());
            }
            tx.prepare_cached(
                "INSERT INTO reservation_charges
                     (reservation, pos, key, amount, limit_value, window_ms, used_before, at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                id.0,
                pos as i64,
                c.key,
                c.amount,
                c.limit,
                c.window_ms,
                used,
                at_ms
            ])?;
            // The total of live charges, whatever the window: it answers
            // `Window::Total` in one read.
            tx.prepare_cached(
                "INSERT INTO counters (key, used) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET used = used + excluded.used",
            )?
            .execute(params![c.key, c.amount])?;
            lines.push(Charged {
                key: c.key.to_string(),
                amount: from_sql_int(c.amount),
                limit: from_sql_int(c.limit),
                window: Window::from_sql(c.window_ms),
                used_before: from_sql_int(used),
            });
        }
        tx.commit()?;
        Ok(Reservation {
            id,
            action: action.to_string(),
            state: ReservationState::Held,
            reserved_ms: at_ms,
            charges: lines,
            settled: None,
        })
    }

    /// [`Counters::commit_reservation`](crate::Counters::commit_reservation) on this store.
    pub fn commit_reservation(
        &self,
        id: ReservationId,
        change: &Change<'_>,
    ) -> Result<Reservation, CounterError> {
        change.check()?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let record = settle_in(&tx, id, ReservationState::Committed, change)?;
        tx.commit()?;
        Ok(record)
    }

    /// [`Counters::release_reservation`](crate::Counters::release_reservation) on this store.
    pub fn release_reservation(
        &self,
        id: ReservationId,
        change: &Change<'_>,
    ) -> Result<Reservation, CounterError> {
        change.check()?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let record = settle_in(&tx, id, ReservationState::Released, change)?;
        tx.commit()?;
        Ok(record)
    }

    /// [`Counters::release_stale_reservations`](crate::Counters::release_stale_reservations) on this store.
    pub fn release_stale_reservations(
        &self,
        held_before_ms: i64,
        change: &Change<'_>,
    ) -> Result<Vec<Reservation>, CounterError> {
        change.check()?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let ids = {
            let mut stmt = tx.prepare(
                "SELECT id FROM reservations WHERE state = 'held' AND reserved_ms < ?1
                 ORDER BY reserved_ms, id",
            )?;
            let rows = stmt.query_map([held_before_ms], |r| r.get(0).map(ReservationId))?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        let mut released = Vec::with_capacity(ids.len());
        for id in ids {
            released.push(settle_in(&tx, id, ReservationState::Released, change)?);
        }
        tx.commit()?;
        Ok(released)
    }

    /// [`Counters::reservation`](crate::Counters::reservation) on this store.
    pub fn reservation(&self, id: ReservationId) -> Result<Reservation, CounterError> {
        let conn = self.conn();
        reservation_in(&conn, id)?.ok_or(CounterError::NoReservation { id })
    }

    /// [`Counters::usage`](crate::Counters::usage) on this store.
    pub fn usage(&self, key: &str, window: Window, at_ms: i64) -> Result<u64, CounterError> {
        check_key("counter key", key)?;
        let window_ms = window.to_sql()?;
        let conn = self.conn();
        Ok(from_sql_int(usage_in(&conn, key, window_ms, at_ms)?))
    }
}

crate::db::from_backend!(CounterError);
