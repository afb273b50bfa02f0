//! Run-time accounting: budget and frequency reservations, exposure caps.

use super::*;

/// Run-time accounting: budget and frequency reservations, exposure caps.
pub trait Counters {
    /// Check every charge against its limit and, if all fit, charge them
    /// all, in one `IMMEDIATE` transaction: either every counter is
    /// charged or none is. Several threads or processes reserving against
    /// one key are serialised by SQLite's write lock, so a limit is never
    /// exceeded. Charges are checked in the order given; the error names
    /// the first that does not fit ([`CounterError::CapExceeded`]). Two
    /// charges to one key in a call add up.
    ///
    /// The reservation is *held*: its charges count at once. Then, exactly
    /// one of:
    /// - [`Self::commit_reservation`] when the action goes out;
    /// - [`Self::release_reservation`] when a later stage blocks it (its
    ///   charges stop counting, so a blocked action never consumes
    ///   budget);
    /// - after a crash, [`Self::release_stale_reservations`] returns the
    ///   budget of reservations left held.
    ///
    /// `action` is the caller's reference for the audit log (a run and
    /// action id). `at_ms` stamps the charges for sliding windows.
    ///
    /// # Example: reserve, then commit or release
    ///
    /// ```
    /// use gatehouse_store::{Change, Charge, CounterError, Store};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// let store = Store::open(dir.path())?;
    /// let now = 1_767_607_200_000;
    /// const WEEK: u64 = 7 * 24 * 3600 * 1000;
    /// let charges = [
    ///     Charge::total("spend/day/2026-01-05/agent/outreach-eu", 1500, 100_000),
    ///     Charge::sliding("freq/email/contact/c-001", 1, 2, WEEK),
    /// ];
    /// let held = store.reserve("run-1/action-0", &charges, now)?;
    /// // ... a later stage blocks the action: give everything back.
    /// store.release_reservation(held.id, &Change::new("pipeline", "risk tier: needs approval", now))?;
    /// assert_eq!(store.usage(charges[0].key, charges[0].window, now)?, 0);
    ///
    /// // Two emails to c-001 go out this week; a third is refused.
    /// for action in ["run-1/action-1", "run-1/action-2"] {
    ///     let held = store.reserve(action, &charges, now)?;
    ///     store.commit_reservation(held.id, &Change::new("pipeline", "sent", now))?;
    /// }
    /// let third = store.reserve("run-1/action-3", &charges, now);
    /// assert!(matches!(third, Err(CounterError::CapExceeded(e)) if e.key == "freq/email/contact/c-001"));
    /// # Ok(())
    /// # }
    /// ```
    fn reserve(
        &self,
        action: &str,
        charges: &[Charge<'_>],
        at_ms: i64,
    ) -> Result<Reservation, CounterError>;

    /// Mark a held reservation committed: its action went out and its
    /// charges count for good (it can no longer be released).
    fn commit_reservation(
        &self,
        id: ReservationId,
        change: &Change<'_>,
    ) -> Result<Reservation, CounterError>;

    /// Undo a held reservation: its charges stop counting at once, as if
    /// it had never been made. Refused once committed or released
    /// ([`CounterError::NotHeld`]), so budget is returned at most once.
    fn release_reservation(
        &self,
        id: ReservationId,
        change: &Change<'_>,
    ) -> Result<Reservation, CounterError>;

    /// Release every reservation still held that was made before
    /// `held_before_ms`: recovery after a crash between reserve and
    /// commit (the action never went out). Pick a cut-off older than any
    /// action still in flight. Returns the released reservations.
    fn release_stale_reservations(
        &self,
        held_before_ms: i64,
        change: &Change<'_>,
    ) -> Result<Vec<Reservation>, CounterError>;

    /// A reservation by id.
    fn reservation(&self, id: ReservationId) -> Result<Reservation, CounterError>;

    /// What `key`'s live (held and committed) charges use at `at_ms` in
    /// `window`.
    fn usage(&self, key: &str, window: Window, at_ms: i64) -> Result<u64, CounterError>;

    /// Whether `unit` may see the candidate under `key` (an experiment or
    /// candidate version, e.g. `outreach@1.3.0`), with at most
    /// `cap_percent` (0–100) of the key's units admitted.
    ///
    /// # The rule
    ///
    /// A unit is assigned once, on its first call, and keeps that answer
    /// forever (sticky), whatever the cap later calls pass. A new unit is
    /// admitted if and only if both hold:
    ///
    /// 1. its bucket — blake3 of (key, unit) reduced to 0–99 — is below
    ///    `cap_percent`, so admitted units are spread over the population
    ///    rather than being the first ones seen; and
    /// 2. admitting it keeps `admitted × 100 ≤ cap_percent × units`, where
    ///    `units` counts every unit assigned under the key, this one
    ///    included: admitted ≤ floor(cap% × units) at every moment.
    ///
    /// Both are checked and the assignment recorded in one `IMMEDIATE`
    /// transaction, so concurrent calls from any number of threads or
    /// processes never break rule 2. Lowering the cap admits no new unit
    /// until the admitted share falls below it; units already admitted
    /// stay admitted. Since rule 1 refuses units that rule 2 would allow,
    /// the admitted share stays somewhat below the cap.
    fn expose(
        &self,
        key: &str,
        unit: &str,
        cap_percent: u8,
        at_ms: i64,
    ) -> Result<Exposure, ExposureError>;

    /// [`Self::expose`] for many units in one transaction (one durable
    /// write for a whole batch), in order; the same rule, unit by unit.
    fn expose_all(
        &self,
        key: &str,
        units: &[&str],
        cap_percent: u8,
        at_ms: i64,
    ) -> Result<Vec<Exposure>, ExposureError>;

    /// How many units `key` has assigned and admitted.
    fn exposure_counts(&self, key: &str) -> Result<ExposureCounts, ExposureError>;
}

impl Counters for Store {
    fn reserve(
        &self,
        action: &str,
        charges: &[Charge<'_>],
        at_ms: i64,
    ) -> Result<Reservation, CounterError> {
        Store::reserve(self, action, charges, at_ms)
    }

    fn commit_reservation(
        &self,
        id: ReservationId,
        change: &Change<'_>,
    ) -> Result<Reservation, CounterError> {
        Store::commit_reservation(self, id, change)
    }

    fn release_reservation(
        &self,
        id: ReservationId,
        change: &Change<'_>,
    ) -> Result<Reservation, CounterError> {
        Store::release_reservation(self, id, change)
    }

    fn release_stale_reservations(
        &self,
        held_before_ms: i64,
        change: &Change<'_>,
    ) -> Result<Vec<Reservation>, CounterError> {
        Store::release_stale_reservations(self, held_before_ms, change)
    }

    fn reservation(&self, id: ReservationId) -> Result<Reservation, CounterError> {
        Store::reservation(self, id)
    }

    fn usage(&self, key: &str, window: Window, at_ms: i64) -> Result<u64, CounterError> {
        Store::usage(self, key, window, at_ms)
    }

    fn expose(
        &self,
        key: &str,
        unit: &str,
        cap_percent: u8,
        at_ms: i64,
    ) -> Result<Exposure, ExposureError> {
        Store::expose(self, key, unit, cap_percent, at_ms)
    }

    fn expose_all(
        &self,
        key: &str,
        units: &[&str],
        cap_percent: u8,
        at_ms: i64,
    ) -> Result<Vec<Exposure>, ExposureError> {
        Store::expose_all(self, key, units, cap_percent, at_ms)
    }

    fn exposure_counts(&self, key: &str) -> Result<ExposureCounts, ExposureError> {
        Store::exposure_counts(self, key)
    }
}
