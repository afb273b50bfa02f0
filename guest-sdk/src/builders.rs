//! Small helpers that make packs and skills short to write.

use crate::types::{
    Action, ActionKind, Channel, Consent, ConsentKind, Criterion, Email, Finding, Money, PackInfo,
    Purpose, Recipient, Relationship, RuleInfo, RunContext, Sender, Severity, SkillInfo, Sms, Span,
    Subject, Timestamp, Verdict,
};

impl PackInfo {
    /// A pack with no rules yet; the SDK version is filled in.
    pub fn new(name: &str, version: &str) -> Self {
        Self {
            name: name.to_string(),
            version: version.to_string(),
            rules: Vec::new(),
            sdk: Some(crate::SDK_VERSION.to_string()),
        }
    }

    /// Add a rule.
    pub fn rule(mut self, id: &str, severity: Severity, description: &str) -> Self {
        self.rules.push(RuleInfo {
            id: id.to_string(),
            severity,
            description: description.to_string(),
            citation: None,
        });
        self
    }

    /// Add a rule that applies a law or rule book, cited as `citation`
    /// (e.g. `15 U.S.C. 7704(a)(3)`).
    pub fn cited_rule(
        mut self,
        id: &str,
        severity: Severity,
        citation: &str,
        description: &str,
    ) -> Self {
        self.rules.push(RuleInfo {
            id: id.to_string(),
            severity,
            description: description.to_string(),
            citation: Some(citation.to_string()),
        });
        self
    }
}

impl SkillInfo {
    /// Describe a skill; the SDK version is filled in.
    pub fn new(name: &str, version: &str) -> Self {
        Self {
            name: name.to_string(),
            version: version.to_string(),
            sdk: Some(crate::SDK_VERSION.to_string()),
        }
    }
}

impl Finding {
    /// A finding of `rule` with a message for the marketer.
    pub fn new(rule: &str, severity: Severity, message: impl Into<String>) -> Self {
        Self {
            rule: rule.to_string(),
            severity,
            message: message.into(),
            evidence: Vec::new(),
            location: None,
            citation: None,
            fix: None,
        }
    }

    /// Name the law or rule the finding applies (e.g. `CASL s. 6(2)(c)`).
    pub fn citing(mut self, citation: &str) -> Self {
        self.citation = Some(citation.to_string());
        self
    }

    /// Say what edit a modification made for this finding.
    pub fn fixed(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    /// Point at `text[start..]` of `field`: the excerpt is the offending
    /// text itself (`len` bytes from `start`, cut to a character boundary).
    pub fn at_span(mut self, field: &str, text: &str, start: usize, len: usize) -> Self {
        let start = floor_char_boundary(text, start.min(text.len()));
        let end = floor_char_boundary(text, (start + len).min(text.len()));
        self.location = Some(Span {
            field: field.to_string(),
            start: start as u32,
            end: end as u32,
            excerpt: text[start..end].to_string(),
        });
        self
    }

    /// Point at `needle` as found at byte `start` of `field`.
    pub fn at(self, field: &str, start: usize, needle: &str) -> Self {
        let mut f = self;
        f.location = Some(Span {
            field: field.to_string(),
            start: start as u32,
            end: (start + needle.len()) as u32,
            excerpt: needle.to_string(),
        });
        f
    }

    /// Cite evidence ids.
    pub fn evidence<I, S>(mut self, ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.evidence.extend(ids.into_iter().map(Into::into));
        self
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Collects findings and turns them into one verdict: any deny wins, then
/// any escalate, then a modification, else allow. Findings of lower rank are
/// kept with the winning verdict so nothing is hidden.
#[derive(Debug, Default)]
pub struct Judge {
    denies: Vec<Finding>,
    escalations: Vec<Finding>,
    notes: Vec<Finding>,
    modified: Option<Action>,
}

impl Judge {
    /// No findings yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The action must not happen.
    pub fn deny(&mut self, finding: Finding) -> &mut Self {
        self.denies.push(finding);
        self
    }

    /// A human must decide.
    pub fn escalate(&mut self, finding: Finding) -> &mut Self {
        self.escalations.push(finding);
        self
    }

    /// The action may happen as changed by `change`, for the reason given.
    /// Successive modifications apply to the already modified action.
    pub fn modify(
        &mut self,
        original: &Action,
        finding: Finding,
        change: impl FnOnce(&mut Action),
    ) -> &mut Self {
        let mut action = self.modified.take().unwrap_or_else(|| original.clone());
        change(&mut action);
        self.modified = Some(action);
        self.notes.push(finding);
        self
    }

    /// True when no finding has been added.
    pub fn is_clean(&self) -> bool {
        self.denies.is_empty() && self.escalations.is_empty() && self.modified.is_none()
    }

    /// The verdict.
    pub fn verdict(&mut self) -> Verdict {
        let mut all = std::mem::take(&mut self.denies);
        if !all.is_empty() {
            all.append(&mut self.escalations);
            all.append(&mut self.notes);
            return Verdict::Deny(all);
        }
        let mut esc = std::mem::take(&mut self.escalations);
        if !esc.is_empty() {
            esc.append(&mut self.notes);
            return Verdict::Escalate(esc);
        }
        match self.modified.take() {
            Some(action) => Verdict::Modify(crate::types::Modification {
                action,
                findings: std::mem::take(&mut self.notes),
            }),
            None => Verdict::Allow,
        }
    }
}

impl Recipient {
    /// A recipient known only by contact id; the host fills in the facts
    /// (until then: no consent, no relationship, no time zone).
    pub fn contact(contact_id: &str) -> Self {
        Self {
            contact_id: contact_id.to_string(),
            address: String::new(),
            region: String::new(),
            country: String::new(),
            consent: Consent::none(Channel::Email),
            lawful_basis: None,
            relationship: Relationship {
                last_purchase_at: None,
                last_inquiry_at: None,
            },
            time_zone: String::new(),
            first_contact: true,
        }
    }
}

impl Consent {
    /// No consent on record for `channel`.
    pub fn none(channel: Channel) -> Self {
        Self {
            kind: ConsentKind::None,
            channel,
            purposes: Vec::new(),
            obtained_at: None,
            expires_at: None,
            withdrawn_at: None,
            evidence: None,
        }
    }

    /// True when this consent is in force at `at` for `purpose`: its kind
    /// is neither `none` nor `withdrawn`, it covers the purpose, and it has
    /// not lapsed.
    pub fn covers(&self, purpose: Purpose, at: Timestamp) -> bool {
        !matches!(self.kind, ConsentKind::None | ConsentKind::Withdrawn)
            && self.purposes.contains(&purpose)
            && self.expires_at.is_none_or(|end| at < end)
    }
}

impl Sender {
    /// A sender known by nothing yet: the host stamps the profile bound to
    /// the sending agent over it.
    pub fn unstamped() -> Self {
        Self {
            profile: String::new(),
            brand: String::new(),
            legal_name: String::new(),
            from_name: String::new(),
            from_address: String::new(),
            sms_sender_id: String::new(),
            postal_address: None,
            contact: None,
            unsubscribe: None,
            sms_opt_out: None,
            disclosures: Vec::new(),
            regimes: Vec::new(),
        }
    }
}

impl Criterion {
    /// A criterion about the person (their own data).
    pub fn person(attribute: &str, value: &str) -> Self {
        Self {
            about: Subject::Person,
            attribute: attribute.to_string(),
            value: value.to_string(),
        }
    }

    /// A criterion about the person's organisation (firmographics).
    pub fn organisation(attribute: &str, value: &str) -> Self {
        Self {
            about: Subject::Organisation,
            attribute: attribute.to_string(),
            value: value.to_string(),
        }
    }
}

impl Action {
    /// An email action sent now, with an unstamped sender, no cost, no
    /// evidence and no targeting.
    pub fn email(id: &str, to: Recipient, purpose: Purpose, subject: &str, body: &str) -> Self {
        Self::new(
            id,
            ActionKind::Email(Email {
                to,
                sender: Sender::unstamped(),
                reply_to: None,
                subject: subject.to_string(),
                body: body.to_string(),
                unsubscribe: None,
                postal_address: None,
                purpose,
                send_at: None,
                targeting: Vec::new(),
            }),
        )
    }

    /// A text message action sent now, with an unstamped sender.
    pub fn sms(id: &str, to: Recipient, purpose: Purpose, body: &str) -> Self {
        Self::new(
            id,
            ActionKind::Sms(Sms {
                to,
                sender: Sender::unstamped(),
                body: body.to_string(),
                purpose,
                send_at: None,
                targeting: Vec::new(),
            }),
        )
    }

    /// An action of any kind with empty agent and region, no cost and no evidence.
    pub fn new(id: &str, kind: ActionKind) -> Self {
        Self {
            id: id.to_string(),
            agent: String::new(),
            region: String::new(),
            estimated_cost: Money {
                currency: "USD".to_string(),
                micros: 0,
            },
            evidence: Vec::new(),
            rationale: String::new(),
            kind,
        }
    }

    /// The email, if this is an email action.
    pub fn email_ref(&self) -> Option<&Email> {
        match &self.kind {
            ActionKind::Email(e) => Some(e),
            _ => None,
        }
    }

    /// The email, if this is an email action (alias of [`Action::email_ref`]).
    pub fn as_email(&self) -> Option<&Email> {
        self.email_ref()
    }

    /// When a message is to be sent: its `send-at`, else `now`; `None` for
    /// actions that are not messages.
    pub fn send_time(&self, now: Timestamp) -> Option<Timestamp> {
        match &self.kind {
            ActionKind::Email(e) => Some(e.send_at.unwrap_or(now)),
            ActionKind::Sms(s) => Some(s.send_at.unwrap_or(now)),
            _ => None,
        }
    }

    /// A message's purpose; `None` for actions that are not messages.
    pub fn purpose(&self) -> Option<Purpose> {
        match &self.kind {
            ActionKind::Email(e) => Some(e.purpose),
            ActionKind::Sms(s) => Some(s.purpose),
            _ => None,
        }
    }

    /// A message's sender profile; `None` for actions that are not messages.
    pub fn sender(&self) -> Option<&Sender> {
        match &self.kind {
            ActionKind::Email(e) => Some(&e.sender),
            ActionKind::Sms(s) => Some(&s.sender),
            _ => None,
        }
    }

    /// The criteria that picked the recipients (messages and audiences).
    pub fn targeting(&self) -> &[Criterion] {
        match &self.kind {
            ActionKind::Email(e) => &e.targeting,
            ActionKind::Sms(s) => &s.targeting,
            ActionKind::Audience(a) => &a.targeting,
            _ => &[],
        }
    }

    /// Reschedule a message to `at` (no effect on other actions).
    pub fn reschedule(&mut self, at: Timestamp) {
        match &mut self.kind {
            ActionKind::Email(e) => e.send_at = Some(at),
            ActionKind::Sms(s) => s.send_at = Some(at),
            _ => {}
        }
    }

    /// The recipient, for actions sent to one person.
    pub fn recipient(&self) -> Option<&Recipient> {
        match &self.kind {
            ActionKind::Email(e) => Some(&e.to),
            ActionKind::Sms(s) => Some(&s.to),
            _ => None,
        }
    }

    /// The human-readable text fields of the action, by field name
    /// (`subject`, `body`, `ad-copy`, `payload`).
    pub fn texts(&self) -> Vec<(&'static str, &str)> {
        match &self.kind {
            ActionKind::Email(e) => {
                vec![("subject", e.subject.as_str()), ("body", e.body.as_str())]
            }
            ActionKind::Sms(s) => vec![("body", s.body.as_str())],
            ActionKind::AdBudget(a) => a
                .ad_copy
                .as_deref()
                .map(|c| ("ad-copy", c))
                .into_iter()
                .collect(),
            ActionKind::Audience(_) => Vec::new(),
            ActionKind::Generic(g) => vec![("payload", g.payload_json.as_str())],
        }
    }

    /// A text field by the name [`Action::texts`] gives it, mutably.
    pub fn text_mut(&mut self, field: &str) -> Option<&mut String> {
        match (&mut self.kind, field) {
            (ActionKind::Email(e), "subject") => Some(&mut e.subject),
            (ActionKind::Email(e), "body") => Some(&mut e.body),
            (ActionKind::Sms(s), "body") => Some(&mut s.body),
            (ActionKind::AdBudget(a), "ad-copy") => a.ad_copy.as_mut(),
            (ActionKind::Generic(g), "payload") => Some(&mut g.payload_json),
            _ => None,
        }
    }

    /// The email, mutably, if this is an email action.
    pub fn email_mut(&mut self) -> Option<&mut Email> {
        match &mut self.kind {
            ActionKind::Email(e) => Some(e),
            _ => None,
        }
    }

    /// Set the estimated cost.
    pub fn costing(mut self, currency: &str, micros: i64) -> Self {
        self.estimated_cost = Money {
            currency: currency.to_string(),
            micros,
        };
        self
    }

    /// Set the agent and region.
    pub fn by(mut self, agent: &str, region: &str) -> Self {
        self.agent = agent.to_string();
        self.region = region.to_string();
        self
    }

    /// Cite evidence ids.
    pub fn citing<I, S>(mut self, ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.evidence.extend(ids.into_iter().map(Into::into));
        self
    }

    /// Say why.
    pub fn because(mut self, rationale: &str) -> Self {
        self.rationale = rationale.to_string();
        self
    }
}

impl RunContext {
    /// A context for unit tests: run `test-run`, agent `test-agent`,
    /// partition `EU`, time 2026-01-05T10:00:00Z.
    pub fn for_test() -> Self {
        Self {
            run_id: "test-run".to_string(),
            agent: "test-agent".to_string(),
            partition: "EU".to_string(),
            cohort: None,
            campaign: None,
            now: 1_767_607_200_000,
            params: Vec::new(),
        }
    }

    /// Add a run parameter (for tests).
    pub fn with_param(mut self, name: &str, value: &str) -> Self {
        self.params.push(crate::types::Field {
            name: name.to_string(),
            value: value.to_string(),
        });
        self
    }

    /// A run parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.value.as_str())
    }
}

impl crate::types::Evidence {
    /// A field's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.value.as_str())
    }
}
