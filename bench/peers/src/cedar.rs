//! cedar-policy: each rule a `permit` policy named by its rule id; the
//! satisfied policies (the response's reasons) are the fired rules.
//!
//! Cedar's `like` is case-sensitive and it has no lowercase function, so
//! `banned-term` (an ASCII case-insensitive match) is expressed over a
//! lowercased subject and body that the host passes in the context. Every
//! other rule is expressed as written.

use crate::data::{Decision, Record, Verdict};
use crate::engines::Engine;
use anyhow::{Result, anyhow};
use cedar_policy::{
    Authorizer, Context, Entities, EntityUid, Policy as CedarPolicy, PolicyId, PolicySet, Request,
};
use std::borrow::Cow;
use std::str::FromStr;

/// What the table says of this engine.
pub const NOTE: &str = "banned-term over host-lowercased text: Cedar has no case-insensitive match";

const RULES: [&str; 3] = ["banned-term", "missing-unsubscribe", "no-consent-eu"];

/// The policy set.
pub struct Policy {
    set: PolicySet,
}

impl Policy {
    pub fn new(banned: &[String]) -> Result<Self> {
        let mut likes = Vec::new();
        for t in banned {
            // `*` is the only special character of a `like` pattern.
            let pattern = t
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('*', "\\*");
            likes.push(format!("context.subject like \"*{pattern}*\""));
            likes.push(format!("context.body like \"*{pattern}*\""));
        }
        let sources = [
            ("banned-term", likes.join(" || ")),
            (
                "missing-unsubscribe",
                "context.channel == \"email\" && !context.has_unsubscribe_link".to_string(),
            ),
            (
                "no-consent-eu",
                "context.region == \"EU\" && !context.consent".to_string(),
            ),
            (
                "evidence-required",
                "context.audience_size > 10000 && context.evidence.isEmpty()".to_string(),
            ),
        ];
        let mut set = PolicySet::new();
        for (id, cond) in sources {
            let text = format!("permit(principal, action, resource) when {{ {cond} }};");
            let p = CedarPolicy::parse(Some(PolicyId::new(id)), text)
                .map_err(|e| anyhow!("cedar policy `{id}`: {e}"))?;
            set.add(p)
                .map_err(|e| anyhow!("cedar policy `{id}`: {e}"))?;
        }
        Ok(Self { set })
    }

    pub fn engine(&self) -> Cedar {
        Cedar {
            set: self.set.clone(),
            authorizer: Authorizer::new(),
            entities: Entities::empty(),
            requests: Vec::new(),
        }
    }
}

/// One authorizer over the policy set.
pub struct Cedar {
    set: PolicySet,
    authorizer: Authorizer,
    entities: Entities,
    requests: Vec<Request>,
}

impl Engine for Cedar {
    fn prepare(&mut self, records: &[Record]) -> Result<()> {
        let principal = EntityUid::from_str(r#"Agent::"bench""#)?;
        let action = EntityUid::from_str(r#"Action::"send""#)?;
        let resource = EntityUid::from_str(r#"Message::"m""#)?;
        self.requests = records
            .iter()
            .map(|r| {
                let context = Context::from_json_value(
                    serde_json::json!({
                        "channel": r.channel,
                        "region": r.region,
                        "audience_size": r.audience_size,
                        "subject": r.subject.to_ascii_lowercase(),
                        "body": r.body.to_ascii_lowercase(),
                        "has_unsubscribe_link": r.has_unsubscribe_link,
                        "consent": r.consent,
                        "evidence": r.evidence,
                    }),
                    None,
                )?;
                Ok(Request::new(
                    principal.clone(),
                    action.clone(),
                    resource.clone(),
                    context,
                    None,
                )?)
            })
            .collect::<Result<_>>()?;
        Ok(())
    }

    fn decide(&mut self, i: usize) -> Result<Decision> {
        let response = self
            .authorizer
            .is_authorized(&self.requests[i], &self.set, &self.entities);
        if let Some(e) = response.diagnostics().errors().next() {
            return Err(anyhow!("cedar: {e}"));
        }
        let fired: Vec<&str> = response
            .diagnostics()
            .reason()
            .map(|id| id.as_ref())
            .collect();
        let rules: Vec<Cow<'static, str>> = RULES
            .iter()
            .filter(|r| fired.contains(r))
            .map(|r| Cow::Borrowed(*r))
            .collect();
        Ok(if !rules.is_empty() {
            Decision::new(Verdict::Deny, rules)
        } else if fired.contains(&"evidence-required") {
            Decision::new(Verdict::Escalate, vec![Cow::Borrowed("evidence-required")])
        } else {
            Decision::new(Verdict::Allow, rules)
        })
    }
}
