//! The `reflect` skill: the loop's reflect step as a component. It reads
//! the agent's metrics (the host serves them, recomputed from the audit
//! log, as the `metrics` collection) and proposes a configuration change
//! when the KPI is below target. It proposes; the host records the
//! proposal, and risk decides who approves it.
//!
//! Each `metrics` record is one metric of one version over one segment:
//! fields `metric`, `segment`, `version`, `version_key`, `value`, `lower`,
//! `upper`, `n`, and the version's configuration as `config.<key>`.
//!
//! Configuration (`host.config`):
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `metric` | `meetings-per-contacted` | the KPI |
//! | `target` | `0.12` | below this, propose a change |
//! | `min_n` | `300` | the fewest units before a figure is trusted |
//! | `artifact` | `meeting-request-config` | the configuration to change |
//! | `key` | `opener` | the setting to change |
//! | `value` | `activity` | its proposed value |
//! | `lift` | `0.2` | the predicted relative lift |
//! | `risk` | `medium` | the proposal's risk |
//!
//! The proposal is a `generic` action of kind `change-proposal` whose
//! payload is the proposal (target, artifact, settings, predicted impact,
//! risk, rationale, evidence ids).

use gatehouse_guest::prelude::*;

/// The skill's name.
pub const SKILL_NAME: &str = "reflect";
/// The skill's version.
pub const SKILL_VERSION: &str = "0.1.0";
/// The action kind of a proposal.
pub const PROPOSAL_KIND: &str = "change-proposal";

/// The reflect skill.
pub struct Reflect;

fn setting(key: &str, default: &str) -> String {
    host::config(key).unwrap_or_else(|| default.to_string())
}

fn number(record: &Evidence, field: &str) -> Option<f64> {
    record.get(field)?.trim().parse().ok()
}

/// Escape a string for a JSON document.
fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl Skill for Reflect {
    fn describe() -> SkillInfo {
        SkillInfo::new(SKILL_NAME, SKILL_VERSION)
    }

    fn act(ctx: RunContext) -> Result<Vec<Action>, SkillError> {
        let metric = setting("metric", "meetings-per-contacted");
        let invalid = |what: &str| {
            SkillError::InvalidContext(format!("configuration `{what}` is not a number"))
        };
        let target: f64 = setting("target", "0.12")
            .parse()
            .map_err(|_| invalid("target"))?;
        let min_n: f64 = setting("min_n", "300")
            .parse()
            .map_err(|_| invalid("min_n"))?;
        let lift: f64 = setting("lift", "0.2")
            .parse()
            .map_err(|_| invalid("lift"))?;
        let (artifact, key, value) = (
            setting("artifact", "meeting-request-config"),
            setting("key", "opener"),
            setting("value", "activity"),
        );
        let records = host::find(
            "metrics",
            &[("metric", metric.as_str()), ("segment", "all segments")],
            100,
        )
        .map_err(SkillError::Host)?;
        // The version with the most units is the one in production.
        let Some(current) = records
            .iter()
            .filter(|r| number(r, "n").is_some_and(|n| n >= min_n))
            .max_by(|a, b| {
                number(a, "n")
                    .partial_cmp(&number(b, "n"))
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
        else {
            host::log(
                Level::Info,
                &format!("no version has {min_n} units of `{metric}` yet"),
            );
            return Ok(Vec::new());
        };
        let value_now = number(current, "value").unwrap_or(0.0);
        let config_key = format!("config.{key}");
        if value_now >= target {
            host::log(
                Level::Info,
                &format!("`{metric}` is {value_now:.4}, at or above the target {target}"),
            );
            return Ok(Vec::new());
        }
        if current.get(&config_key) == Some(value.as_str()) {
            host::log(
                Level::Info,
                &format!("`{key}` is already `{value}`; nothing to propose"),
            );
            return Ok(Vec::new());
        }
        let rationale = format!(
            "`{metric}` of {} is {value_now:.4} over {} units, below the target {target}; \
             set `{key}` to `{value}`.",
            current.get("version").unwrap_or("the current version"),
            current.get("n").unwrap_or("?"),
        );
        let payload = format!(
            "{{\"target\":\"config\",\"artifact\":{},\"set\":{{{}:{}}},\"predicted\":{{\"metric\":{},\"lift\":{lift}}},\"risk\":{},\"rationale\":{},\"evidence\":[{}]}}",
            json_str(&artifact),
            json_str(&key),
            json_str(&value),
            json_str(&metric),
            json_str(&setting("risk", "medium")),
            json_str(&rationale),
            json_str(&current.id),
        );
        let action = Action::new(
            &format!("{}/proposal", ctx.run_id),
            ActionKind::Generic(GenericAction {
                kind: PROPOSAL_KIND.to_string(),
                payload_json: payload,
            }),
        )
        .by(&ctx.agent, &ctx.partition)
        .citing([current.id.as_str()])
        .because(&rationale);
        Ok(vec![action])
    }
}

gatehouse_guest::export_skill!(Reflect);

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_guest::testing::MockHost;

    fn figure(mock: MockHost, id: &str, value: &str, n: &str, opener: &str) -> MockHost {
        mock.record(
            "metrics",
            id,
            "EU",
            &[
                ("metric", "meetings-per-contacted"),
                ("segment", "all segments"),
                ("version", "meeting-request@0.1.0"),
                ("value", value),
                ("n", n),
                ("config.opener", opener),
            ],
        )
    }

    #[test]
    fn proposes_the_change_when_the_kpi_is_below_target() {
        figure(
            figure(MockHost::new(), "m-1", "0.09", "900", "standard"),
            "m-2",
            "0.30",
            "40",
            "urgent",
        )
        .install();
        let actions = Reflect::act(RunContext::for_test()).expect("acts");
        assert_eq!(actions.len(), 1);
        let ActionKind::Generic(g) = &actions[0].kind else {
            panic!("a generic action")
        };
        assert_eq!(g.kind, PROPOSAL_KIND);
        assert!(
            g.payload_json.contains("\"set\":{\"opener\":\"activity\"}"),
            "{}",
            g.payload_json
        );
        assert!(
            g.payload_json.contains("\"evidence\":[\"m-1\"]"),
            "the figure with most units"
        );
        assert_eq!(actions[0].evidence, ["m-1"]);
    }

    #[test]
    fn stays_quiet_at_target_too_few_units_or_already_changed() {
        figure(MockHost::new(), "m-1", "0.15", "900", "standard").install();
        assert!(
            Reflect::act(RunContext::for_test())
                .expect("acts")
                .is_empty()
        );
        figure(MockHost::new(), "m-1", "0.05", "20", "standard").install();
        assert!(
            Reflect::act(RunContext::for_test())
                .expect("acts")
                .is_empty()
        );
        figure(MockHost::new(), "m-1", "0.05", "900", "activity").install();
        assert!(
            Reflect::act(RunContext::for_test())
                .expect("acts")
                .is_empty()
        );
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_str("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
    }
}
