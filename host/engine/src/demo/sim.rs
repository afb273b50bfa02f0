//! The simulation loop: a day of leads through the production version or
//! a pilot's arms, the world's answers recorded as outcomes, the gates.

use super::world::{Rng, performed_email, respond};
use super::{AGENT, DAY_MS, PARTITION, Result, SEGMENTS, START_MS};
use crate::learn::{Runner, metrics, pilot};
use crate::{Dataset, Evidence, Field, RunContext, Sandbox};
use gatehouse_store::{AuditLog, Store};
use std::sync::Arc;

/// Everything the simulation loop needs.
pub(super) struct Sim<'a> {
    pub(super) log: &'a AuditLog,
    pub(super) store: &'a Arc<Store>,
    pub(super) sandbox: &'a Sandbox,
    pub(super) runner: Runner<'a>,
    pub(super) rng: Rng,
    pub(super) day: u32,
    pub(super) contacted: u64,
}

impl Sim<'_> {
    pub(super) fn now(&self) -> i64 {
        START_MS + i64::from(self.day) * DAY_MS
    }

    /// Today's leads of one segment, and the run context of their batch.
    fn batch(&self, leads: &[Evidence], segment: &str, label: &str) -> (Dataset, RunContext) {
        let now = self.now();
        let mut data = Dataset::empty();
        for lead in leads.iter().filter(|l| l.get("segment") == Some(segment)) {
            data.insert(lead.clone());
        }
        let ctx = RunContext {
            run_id: format!("{label}-d{:02}-{segment}", self.day),
            agent: AGENT.to_string(),
            partition: PARTITION.to_string(),
            cohort: Some(segment.to_string()),
            campaign: Some("meetings-q2".to_string()),
            now,
            params: vec![Field {
                name: metrics::SLA_PARAM.into(),
                value: (now + 4 * 3_600_000).to_string(),
            }],
        };
        (data, ctx)
    }

    /// The world's answers to the emails a run sent, recorded as outcomes.
    fn answer(&mut self, report: &crate::pipeline::RunReport, data: &Dataset) -> Result<()> {
        let mut outcomes = Vec::new();
        for d in &report.decisions {
            if !matches!(
                d.outcome,
                crate::pipeline::Outcome::Allow | crate::pipeline::Outcome::Modify
            ) {
                continue;
            }
            let performed = d.final_action.as_ref().unwrap_or(&d.action);
            let (Some(to), Some(email)) = (performed.recipient(), performed_email(performed))
            else {
                continue;
            };
            let Some(contact) = data.get("contacts", &to.contact_id) else {
                continue;
            };
            self.contacted += 1;
            outcomes.extend(respond(&mut self.rng, contact, email, &d.action.id));
        }
        // The world answers within the day.
        crate::audit::record_outcomes(
            self.log,
            &report.context.run_id,
            &outcomes,
            self.now() + 8 * 3_600_000,
        )?;
        Ok(())
    }

    /// One day without a pilot: today's leads through the production version.
    pub(super) fn baseline_day(&mut self, skill: &crate::Guest, leads: &[Evidence]) -> Result<()> {
        for segment in SEGMENTS {
            let (data, ctx) = self.batch(leads, segment, "base");
            let report = self
                .runner
                .run(self.log, skill, &ctx, Arc::new(data.clone()), self.now())?
                .report;
            self.answer(&report, &data)?;
        }
        Ok(())
    }

    /// One day of a pilot: today's leads through both arms, the world's
    /// answers, then a gate check that may ramp, promote or roll back.
    pub(super) fn pilot_day(
        &mut self,
        p: &pilot::Pilot,
        leads: &[Evidence],
        label: &str,
    ) -> Result<pilot::Check> {
        let arms = [
            p.spec.control.load(self.sandbox, self.store)?,
            p.spec.candidate.load(self.sandbox, self.store)?,
        ];
        let now = self.now();
        for segment in SEGMENTS {
            let (data, ctx) = self.batch(leads, segment, label);
            let batch =
                self.runner
                    .pilot_batch(self.log, p, [&arms[0], &arms[1]], &ctx, &data, now)?;
            for (_, report) in &batch.runs {
                self.answer(report, &data)?;
            }
        }
        let entries = self.log.entries(0, None)?;
        let check = p.check(&entries, now + 9 * 3_600_000)?;
        pilot::apply(self.log, p, &check, "gatehouse-gates")?;
        Ok(check)
    }
}
