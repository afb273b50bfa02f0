//! The `brand-safety` benchmark pack: the four rules of
//! `bench/brand-safety/data/RULES.md` as a gatehouse policy pack.
//!
//! The benchmark's flat record maps onto a gatehouse action as follows: the
//! record's `region` and `evidence` are the action's own `region` and
//! `evidence`; the rest (a campaign message to an audience on a channel,
//! which is not an email or SMS to one recipient) travels as a
//! [`generic`](ActionKind::Generic) action of kind [`KIND`] whose JSON
//! payload is a [`Message`].
//!
//! | rule | severity | citation | verdict | fires when |
//! |---|---|---|---|---|
//! | [`BANNED_TERM`] | high | `brand-safety RULES.md R1` | deny | subject or body contains a banned term (ASCII case-insensitive) |
//! | [`MISSING_UNSUBSCRIBE`] | high | `brand-safety RULES.md R2` | deny | channel is `email` and there is no unsubscribe link |
//! | [`NO_CONSENT_EU`] | critical | `brand-safety RULES.md R3` | deny | region is `EU` and there is no consent |
//! | [`EVIDENCE_REQUIRED`] | medium | `brand-safety RULES.md R4` | escalate | audience above 10,000 and no evidence cited |
//!
//! The rules are the benchmark's, not statutes: each cites its line of
//! `RULES.md` (rule and finding alike). They judge a flat record that
//! carries no message to fix, so none modifies: the verdicts are the
//! benchmark's expected ones, on contract 0.2 as on 0.1.
//!
//! Every rule is evaluated; deny findings win and are reported in rule
//! order, otherwise an escalation, otherwise the action is allowed. An
//! action of another kind, or a payload that does not parse, is denied
//! ([`MALFORMED`]): the pack fails closed.
//!
//! The banned terms are matched with one Aho-Corasick automaton, built on
//! first use. The pack builds it in `describe`, so a host that
//! pre-initialises components (snapshots them after `describe`) starts
//! every fresh instance with the automaton already in memory.

use aho_corasick::{AhoCorasick, AhoCorasickKind};
use gatehouse_guest::prelude::*;
use serde::Deserialize;
use std::borrow::Cow;
use std::sync::OnceLock;

/// The pack's name.
pub const PACK_NAME: &str = "brand-safety";
/// The pack's version.
pub const PACK_VERSION: &str = "0.2.0";
/// The generic action kind this pack judges.
pub const KIND: &str = "campaign-message";

/// Rule id R1: a banned term in the subject or body.
pub const BANNED_TERM: &str = "banned-term";
/// Rule id R2: an email without an unsubscribe link.
pub const MISSING_UNSUBSCRIBE: &str = "missing-unsubscribe";
/// Rule id R3: the EU region without consent.
pub const NO_CONSENT_EU: &str = "no-consent-eu";
/// Rule id R4: a large audience without evidence.
pub const EVIDENCE_REQUIRED: &str = "evidence-required";
/// What each rule cites: its line of the benchmark's `RULES.md`.
pub mod citation {
    /// R1.
    pub const BANNED_TERM: &str = "brand-safety RULES.md R1";
    /// R2.
    pub const MISSING_UNSUBSCRIBE: &str = "brand-safety RULES.md R2";
    /// R3.
    pub const NO_CONSENT_EU: &str = "brand-safety RULES.md R3";
    /// R4.
    pub const EVIDENCE_REQUIRED: &str = "brand-safety RULES.md R4";
}
/// Rule id of the fail-closed denial of an action the pack cannot read.
pub const MALFORMED: &str = "brand-safety.malformed";

/// Audiences larger than this need evidence (R4).
pub const AUDIENCE_LIMIT: u32 = 10_000;

/// The banned terms, one a line (the benchmark's `banned.txt`).
pub const BANNED_TXT: &str = include_str!("../../data/banned.txt");

/// The payload of a [`KIND`] action: the benchmark record's fields that
/// have no place in gatehouse's own action record.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message<'a> {
    /// `email`, `sms` or `ads`.
    #[serde(borrow)]
    pub channel: Cow<'a, str>,
    /// How many recipients the message goes to.
    pub audience_size: u32,
    /// Whether the message carries an unsubscribe link.
    pub has_unsubscribe_link: bool,
    /// Whether the audience consented.
    pub consent: bool,
    /// Subject line.
    #[serde(borrow)]
    pub subject: Cow<'a, str>,
    /// Body text.
    #[serde(borrow)]
    pub body: Cow<'a, str>,
}

/// What the rules decided: the fired rule ids, in rule order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// No rule fired.
    Allow,
    /// Some of R1..R3 fired.
    Deny(Vec<&'static str>),
    /// Only R4 fired.
    Escalate,
}

/// The automaton over the banned terms, built once per instance (`None`
/// if it could not be built, which makes every message fail R1: closed).
pub fn banned_terms() -> Option<&'static AhoCorasick> {
    static AUTOMATON: OnceLock<Option<AhoCorasick>> = OnceLock::new();
    AUTOMATON
        .get_or_init(|| {
            let terms = BANNED_TXT.lines().map(str::trim).filter(|t| !t.is_empty());
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .kind(Some(AhoCorasickKind::DFA))
                .build(terms)
                .ok()
        })
        .as_ref()
}

/// Apply the four rules to one message.
pub fn judge(region: &str, evidence_count: usize, m: &Message<'_>) -> Outcome {
    let mut fired = Vec::new();
    let banned = banned_terms()
        .is_none_or(|ac| ac.is_match(m.subject.as_ref()) || ac.is_match(m.body.as_ref()));
    if banned {
        fired.push(BANNED_TERM);
    }
    if m.channel == "email" && !m.has_unsubscribe_link {
        fired.push(MISSING_UNSUBSCRIBE);
    }
    if region == "EU" && !m.consent {
        fired.push(NO_CONSENT_EU);
    }
    if !fired.is_empty() {
        Outcome::Deny(fired)
    } else if m.audience_size > AUDIENCE_LIMIT && evidence_count == 0 {
        Outcome::Escalate
    } else {
        Outcome::Allow
    }
}

/// The brand-safety pack.
pub struct BrandSafety;

impl Policy for BrandSafety {
    fn describe() -> PackInfo {
        // Build the automaton now: see the module docs.
        banned_terms();
        PackInfo::new(PACK_NAME, PACK_VERSION)
            .cited_rule(
                BANNED_TERM,
                Severity::High,
                citation::BANNED_TERM,
                "The subject or body contains a banned term (ASCII case-insensitive).",
            )
            .cited_rule(
                MISSING_UNSUBSCRIBE,
                Severity::High,
                citation::MISSING_UNSUBSCRIBE,
                "An email carries an unsubscribe link.",
            )
            .cited_rule(
                NO_CONSENT_EU,
                Severity::Critical,
                citation::NO_CONSENT_EU,
                "A message to the EU region needs the recipients' consent.",
            )
            .cited_rule(
                EVIDENCE_REQUIRED,
                Severity::Medium,
                citation::EVIDENCE_REQUIRED,
                "A message to more than 10,000 recipients cites evidence, or a human decides.",
            )
    }

    fn validate(action: Action, _ctx: RunContext) -> Verdict {
        let ActionKind::Generic(g) = &action.kind else {
            return malformed(format!("expected a `{KIND}` action"));
        };
        if g.kind != KIND {
            return malformed(format!("expected a `{KIND}` action, got `{}`", g.kind));
        }
        let message: Message<'_> = match serde_json::from_str(&g.payload_json) {
            Ok(m) => m,
            Err(e) => return malformed(format!("the payload is not a message: {e}")),
        };
        match judge(&action.region, action.evidence.len(), &message) {
            Outcome::Allow => Verdict::Allow,
            Outcome::Escalate => Verdict::Escalate(vec![Finding::new(
                EVIDENCE_REQUIRED,
                Severity::Medium,
                format!(
                    "This message goes to {} recipients and cites no evidence; a human must approve it.",
                    message.audience_size
                ),
            )
            .citing(citation::EVIDENCE_REQUIRED)]),
            Outcome::Deny(rules) => Verdict::Deny(
                rules
                    .into_iter()
                    .map(|rule| match rule {
                        BANNED_TERM => Finding::new(
                            rule,
                            Severity::High,
                            "The subject or body contains a banned term.",
                        )
                        .citing(citation::BANNED_TERM),
                        MISSING_UNSUBSCRIBE => Finding::new(
                            rule,
                            Severity::High,
                            "This email has no unsubscribe link.",
                        )
                        .citing(citation::MISSING_UNSUBSCRIBE),
                        _ => Finding::new(
                            rule,
                            Severity::Critical,
                            "This message goes to the EU without the recipients' consent.",
                        )
                        .citing(citation::NO_CONSENT_EU),
                    })
                    .collect(),
            ),
        }
    }
}

fn malformed(message: String) -> Verdict {
    Verdict::Deny(vec![Finding::new(MALFORMED, Severity::Critical, message)])
}

gatehouse_guest::export_policy!(BrandSafety);

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Record {
        region: String,
        evidence: Vec<String>,
        #[serde(flatten)]
        message: serde_json::Value,
    }

    #[derive(Deserialize)]
    struct Expected {
        verdict: String,
        rules: Vec<String>,
    }

    /// The committed data set's expected verdicts are what these rules say,
    /// for all 1,000 actions.
    #[test]
    fn the_rules_give_every_expected_verdict() {
        let actions = include_str!("../../data/actions.jsonl");
        let expected = include_str!("../../data/expected.jsonl");
        let mut n = 0;
        for (line, want) in actions.lines().zip(expected.lines()) {
            let r: Record = serde_json::from_str(line).unwrap();
            let payload = r.message.to_string();
            let m: Message<'_> = serde_json::from_str(&payload).unwrap();
            let want: Expected = serde_json::from_str(want).unwrap();
            let (verdict, rules) = match judge(&r.region, r.evidence.len(), &m) {
                Outcome::Allow => ("allow", vec![]),
                Outcome::Escalate => ("escalate", vec![EVIDENCE_REQUIRED]),
                Outcome::Deny(rules) => ("deny", rules),
            };
            assert_eq!(
                (verdict, rules),
                (
                    want.verdict.as_str(),
                    want.rules.iter().map(String::as_str).collect::<Vec<_>>()
                ),
                "action {n}"
            );
            n += 1;
        }
        assert_eq!(n, 1000);
    }

    #[test]
    fn every_rule_and_finding_cites_its_line_of_the_rules() {
        let info = BrandSafety::describe();
        assert_eq!(info.version, "0.2.0");
        let cited: Vec<(&str, Option<&str>)> = info
            .rules
            .iter()
            .map(|r| (r.id.as_str(), r.citation.as_deref()))
            .collect();
        assert_eq!(
            cited,
            [
                (BANNED_TERM, Some(citation::BANNED_TERM)),
                (MISSING_UNSUBSCRIBE, Some(citation::MISSING_UNSUBSCRIBE)),
                (NO_CONSENT_EU, Some(citation::NO_CONSENT_EU)),
                (EVIDENCE_REQUIRED, Some(citation::EVIDENCE_REQUIRED)),
            ]
        );
        let message = |region: &str, payload: &str| {
            Action::new(
                "a1",
                ActionKind::Generic(GenericAction {
                    kind: KIND.to_string(),
                    payload_json: payload.to_string(),
                }),
            )
            .by("bench", region)
        };
        let all_deny = message(
            "EU",
            r#"{"channel":"email","audience_size":5,"has_unsubscribe_link":false,"consent":false,"subject":"click here","body":"hi"}"#,
        );
        let Verdict::Deny(findings) = BrandSafety::validate(all_deny, RunContext::for_test())
        else {
            panic!("all three deny rules fire");
        };
        let cited: Vec<(&str, Option<&str>)> = findings
            .iter()
            .map(|f| (f.rule.as_str(), f.citation.as_deref()))
            .collect();
        assert_eq!(
            cited,
            [
                (BANNED_TERM, Some(citation::BANNED_TERM)),
                (MISSING_UNSUBSCRIBE, Some(citation::MISSING_UNSUBSCRIBE)),
                (NO_CONSENT_EU, Some(citation::NO_CONSENT_EU)),
            ]
        );
        let large = message(
            "US",
            r#"{"channel":"sms","audience_size":20000,"has_unsubscribe_link":false,"consent":true,"subject":"","body":"hi"}"#,
        );
        let Verdict::Escalate(findings) = BrandSafety::validate(large, RunContext::for_test())
        else {
            panic!("R4 escalates");
        };
        assert_eq!(
            findings[0].citation.as_deref(),
            Some(citation::EVIDENCE_REQUIRED)
        );
    }

    #[test]
    fn ascii_case_is_ignored_and_other_kinds_fail_closed() {
        let m = Message {
            channel: "sms".into(),
            audience_size: 1,
            has_unsubscribe_link: true,
            consent: true,
            subject: "CLICK HERE".into(),
            body: "hello".into(),
        };
        assert_eq!(judge("US", 0, &m), Outcome::Deny(vec![BANNED_TERM]));
        let v = BrandSafety::validate(
            Action::sms("a1", Recipient::contact("c1"), Purpose::Commercial, "hi"),
            RunContext::for_test(),
        );
        assert!(matches!(v, Verdict::Deny(f) if f[0].rule == MALFORMED));
    }
}
