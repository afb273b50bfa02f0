//! The brand-safety rules as an Extism plug-in: `validate` takes the
//! benchmark's flat record as JSON and returns
//! `{"verdict": ..., "rules": [...]}` as JSON. The automaton is built on
//! the first call of each plug-in instance.

use aho_corasick::{AhoCorasick, AhoCorasickKind};
use extism_pdk::{FnResult, Json, plugin_fn};
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

#[derive(Deserialize)]
struct Record {
    channel: String,
    region: String,
    audience_size: u32,
    subject: String,
    body: String,
    has_unsubscribe_link: bool,
    consent: bool,
    evidence: Vec<String>,
}

#[derive(Serialize)]
struct Verdict {
    verdict: &'static str,
    rules: Vec<&'static str>,
}

fn banned() -> Option<&'static AhoCorasick> {
    static AC: OnceLock<Option<AhoCorasick>> = OnceLock::new();
    AC.get_or_init(|| {
        let terms = include_str!("../../../brand-safety/data/banned.txt")
            .lines()
            .map(str::trim)
            .filter(|t| !t.is_empty());
        AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .kind(Some(AhoCorasickKind::DFA))
            .build(terms)
            .ok()
    })
    .as_ref()
}

/// Judge one record.
#[plugin_fn]
pub fn validate(Json(r): Json<Record>) -> FnResult<Json<Verdict>> {
    let mut rules = Vec::new();
    if banned().is_none_or(|ac| ac.is_match(&r.subject) || ac.is_match(&r.body)) {
        rules.push("banned-term");
    }
    if r.channel == "email" && !r.has_unsubscribe_link {
        rules.push("missing-unsubscribe");
    }
    if r.region == "EU" && !r.consent {
        rules.push("no-consent-eu");
    }
    let verdict = if !rules.is_empty() {
        Verdict {
            verdict: "deny",
            rules,
        }
    } else if r.audience_size > 10_000 && r.evidence.is_empty() {
        Verdict {
            verdict: "escalate",
            rules: vec!["evidence-required"],
        }
    } else {
        Verdict {
            verdict: "allow",
            rules,
        }
    };
    Ok(Json(verdict))
}
