//! The `email-outreach` skill: propose one personalised email per contact
//! of the run's partition who may and should hear from Acme.
//!
//! For every contact retrieved from the `contacts` collection (optionally
//! only those of one `segment`), the skill reads the contact's `history`
//! and proposes an email unless
//!
//! - the contact's `consent_email` is not a consent (`express-written`,
//!   `express`, `implied` or `soft-opt-in`), or
//! - the contact was emailed (any `history` record on channel `email`)
//!   within the last `quiet_days` days, measured against [`host::now`].
//!
//! The skill proposes; it never sends. The host fills the recipient's facts
//! from the system of record and the sender from the sender profile bound
//! to the run's agent, and the policy packs judge every email.
//!
//! # What the skill writes, and what it leaves to others
//!
//! Every email states its purpose (`commercial`: this is marketing) and the
//! criteria that picked the copy for the contact: their `interest` (about
//! the person) and their company's `segment` (about the organisation). The
//! skill writes no sender and no footer: it leaves [`Sender::unstamped`] for
//! the host to stamp, and no unsubscribe mechanism or postal address, which
//! the packs append from the sender profile where the recipient's law asks
//! for them. So the skill needs to know nothing about who sends.
//!
//! # Run parameters
//!
//! | name | default | meaning |
//! |---|---|---|
//! | `segment` | all | only contacts whose `segment` field equals it |
//! | `quiet_days` | 14 | days since the last email before a contact may be emailed again |
//! | `max_emails` | 20 | the most emails proposed in one run |
//!
//! A malformed parameter fails the run with [`SkillError::InvalidContext`].
//!
//! # The copy
//!
//! The template follows the contact's `interest` (and its `segment` for the
//! closing line). This is a demonstration skill, and its copy is written so
//! that the sample data (`examples/data/crm.json`) exercises the `brand`
//! pack: the "fitness" copy makes a banned claim, the "finance" copy
//! misspells the brand, only the "gardening" copy carries the disclosure of
//! the sample sender profile (`examples/data/senders.toml`).

use gatehouse_guest::prelude::*;

/// The skill's name.
pub const SKILL_NAME: &str = "email-outreach";
/// The skill's version.
pub const SKILL_VERSION: &str = "0.1.0";

/// Estimated cost of one email, in millionths of a US dollar.
pub const COST_PER_EMAIL_MICROS: i64 = 1_000;

/// Default of the `quiet_days` parameter.
pub const DEFAULT_QUIET_DAYS: u32 = 14;
/// Default of the `max_emails` parameter.
pub const DEFAULT_MAX_EMAILS: usize = 20;
/// The most contacts retrieved per run.
pub const CONTACTS_LIMIT: u32 = 200;
/// The most history records retrieved per contact.
pub const HISTORY_LIMIT: u32 = 50;

const DAY_MS: i64 = 24 * 60 * 60 * 1_000;

/// The disclosure of the sample sender profile, which the `brand` pack
/// requires (carried by the gardening copy only, see the crate
/// documentation).
const DISCLOSURE: &str = "You are receiving this email because you are a customer of Acme.";

/// The email-outreach skill.
pub struct Outreach;

impl Skill for Outreach {
    fn describe() -> SkillInfo {
        SkillInfo::new(SKILL_NAME, SKILL_VERSION)
    }

    fn act(ctx: RunContext) -> Result<Vec<Action>, SkillError> {
        let params = Params::from_context(&ctx)?;
        let now = host::now();

        let contacts = match params.segment {
            Some(segment) => host::find("contacts", &[("segment", segment)], CONTACTS_LIMIT),
            None => host::find("contacts", &[], CONTACTS_LIMIT),
        }
        .map_err(SkillError::Host)?;

        let mut actions = Vec::new();
        for (index, contact) in contacts.iter().enumerate() {
            if actions.len() >= params.max_emails {
                host::log(
                    Level::Info,
                    &format!(
                        "cap of {} emails reached; {} contacts not considered",
                        params.max_emails,
                        contacts.len() - index
                    ),
                );
                break;
            }
            if !consents(contact) {
                host::log(
                    Level::Info,
                    &format!(
                        "skipping {}: email consent is {}",
                        contact.id,
                        contact.get("consent_email").unwrap_or("not recorded")
                    ),
                );
                continue;
            }
            let history = history_of(&contact.id)?;
            if let Some(reason) = quiet_period_reason(&history, now, params.quiet_days) {
                host::log(Level::Info, &format!("skipping {}: {reason}", contact.id));
                continue;
            }
            actions.push(propose(&ctx, contact, &history, params.quiet_days));
        }
        host::log(
            Level::Info,
            &format!(
                "proposed {} emails from {} contacts",
                actions.len(),
                contacts.len()
            ),
        );
        Ok(actions)
    }
}

gatehouse_guest::export_skill!(Outreach);

/// The run parameters, checked.
#[derive(Debug, PartialEq)]
struct Params<'a> {
    segment: Option<&'a str>,
    quiet_days: u32,
    max_emails: usize,
}

impl<'a> Params<'a> {
    fn from_context(ctx: &'a RunContext) -> Result<Self, SkillError> {
        let segment = match ctx.param("segment").map(str::trim) {
            Some("") => return Err(invalid("segment", "", "a segment name")),
            other => other,
        };
        Ok(Self {
            segment,
            quiet_days: number_param(ctx, "quiet_days", DEFAULT_QUIET_DAYS)?,
            max_emails: number_param(ctx, "max_emails", DEFAULT_MAX_EMAILS)?,
        })
    }
}

/// A whole-number parameter, or its default when absent.
fn number_param<T: std::str::FromStr>(
    ctx: &RunContext,
    name: &str,
    default: T,
) -> Result<T, SkillError> {
    match ctx.param(name) {
        None => Ok(default),
        Some(value) => value
            .trim()
            .parse()
            .map_err(|_| invalid(name, value, "a whole number (0 or more)")),
    }
}

fn invalid(name: &str, value: &str, expected: &str) -> SkillError {
    SkillError::InvalidContext(format!(
        "run parameter `{name}` is `{value}`; expected {expected}"
    ))
}

/// A contact's history. A dataset without a `history` collection means no
/// contact has any history.
fn history_of(contact_id: &str) -> Result<Vec<Evidence>, SkillError> {
    match host::find("history", &[("contact_id", contact_id)], HISTORY_LIMIT) {
        Ok(history) => Ok(history),
        Err(HostError::UnknownCollection(_)) => Ok(Vec::new()),
        Err(e) => Err(SkillError::Host(e)),
    }
}

/// Why a contact must not be emailed yet, if they were emailed within the
/// last `quiet_days` days. A record whose time cannot be read counts as
/// recent: when in doubt, stay quiet.
fn quiet_period_reason(history: &[Evidence], now: i64, quiet_days: u32) -> Option<String> {
    let window = i64::from(quiet_days) * DAY_MS;
    history
        .iter()
        .filter(|h| h.get("channel") == Some("email"))
        .find_map(|h| match h.get("at_ms").map(|v| v.trim().parse::<i64>()) {
            Some(Ok(at)) if now.saturating_sub(at) < window => Some(format!(
                "emailed {} days ago ({}), within the {quiet_days}-day quiet period",
                now.saturating_sub(at).max(0) / DAY_MS,
                h.id
            )),
            Some(Ok(_)) => None,
            _ => Some(format!(
                "history record {} has no readable `at_ms`; cannot tell when the last email was",
                h.id
            )),
        })
}

/// True when the contact's recorded email consent is a consent of some
/// kind (the packs judge whether it covers this message).
fn consents(contact: &Evidence) -> bool {
    matches!(
        contact.get("consent_email"),
        Some("express-written" | "express" | "implied" | "soft-opt-in")
    )
}

/// The email proposed to `contact`.
fn propose(ctx: &RunContext, contact: &Evidence, history: &[Evidence], quiet_days: u32) -> Action {
    let person = Person::of(contact);
    let copy = EmailCopy::for_person(&person);
    let email = Email {
        to: Recipient::contact(&contact.id),
        sender: Sender::unstamped(),
        reply_to: None,
        subject: copy.subject,
        body: copy.body,
        // No footer: the packs append the sender profile's.
        unsubscribe: None,
        postal_address: None,
        purpose: Purpose::Commercial,
        send_at: None,
        targeting: targeting_of(&person),
    };
    let who = person.first_name.unwrap_or("The contact");
    let topic = person.interest.unwrap_or("Acme's news");
    let mut action = Action::new(
        &format!("{}/{}", ctx.run_id, contact.id),
        ActionKind::Email(email),
    )
    .by(&ctx.agent, &contact.partition)
    .citing(std::iter::once(contact.id.as_str()).chain(history.iter().map(|h| h.id.as_str())))
    .because(&format!(
        "{who} consented to email, has not been emailed in the last {quiet_days} days \
         and is interested in {topic}."
    ));
    action.estimated_cost = Money {
        currency: "USD".to_string(),
        micros: COST_PER_EMAIL_MICROS,
    };
    action
}

/// What picked the copy for the contact: their own interest (about the
/// person) and their company's segment (about the organisation).
fn targeting_of(person: &Person<'_>) -> Vec<Criterion> {
    let mut criteria = Vec::new();
    if let Some(interest) = person.interest {
        criteria.push(Criterion::person("interest", interest));
    }
    if let Some(segment) = person.segment {
        criteria.push(Criterion::organisation("segment", segment));
    }
    criteria
}

/// The fields of a contact that personalise the copy; blank counts as missing.
struct Person<'a> {
    first_name: Option<&'a str>,
    company: Option<&'a str>,
    interest: Option<&'a str>,
    segment: Option<&'a str>,
}

impl<'a> Person<'a> {
    fn of(contact: &'a Evidence) -> Self {
        let field = |name| contact.get(name).map(str::trim).filter(|v| !v.is_empty());
        Self {
            first_name: field("first_name"),
            company: field("company"),
            interest: field("interest"),
            segment: field("segment"),
        }
    }
}

/// A subject and a body.
struct EmailCopy {
    subject: String,
    body: String,
}

impl EmailCopy {
    /// The copy for a person: the offer follows the interest, the closing
    /// the segment.
    fn for_person(person: &Person<'_>) -> Self {
        let audience = person.company.unwrap_or("your team");
        let (subject, offer) = match person.interest {
            // Banned claim ("guaranteed"): the brand pack denies this copy.
            Some("fitness") => (
                format!("a fitter spring for {audience}"),
                "Our new team wellness programme comes with guaranteed results in six weeks.",
            ),
            // Misspelled brand ("acme"): the brand pack corrects it.
            Some("finance") => (
                format!("faster month-end closing for {audience}"),
                "The acme finance desk now reconciles invoices overnight, so month-end \
                 takes days instead of weeks.",
            ),
            Some("gardening") => (
                format!("spring planting ideas for {audience}"),
                "Acme's spring catalogue has arrived, with seed kits and tools chosen \
                 for the season ahead.",
            ),
            Some("travel") => (
                format!("spring trips for {audience}, booked in one place"),
                "Acme Travel now books rail, flights and hotels in one place, with one \
                 invoice at the end of the month.",
            ),
            _ => (
                "what's new at Acme this spring".to_string(),
                "Acme has new products and services this spring.",
            ),
        };
        let subject = match person.first_name {
            Some(name) => format!("{name}, {subject}"),
            None => capitalised(&subject),
        };

        let greeting = match person.first_name {
            Some(name) => format!("Hi {name},"),
            None => "Hello,".to_string(),
        };
        let intro = match (person.company, person.interest) {
            (Some(company), Some(interest)) => {
                format!("As someone at {company} interested in {interest}, you may like this.")
            }
            (None, Some(interest)) => {
                format!("As someone interested in {interest}, you may like this.")
            }
            (Some(company), None) => format!("Here is what is new for {company}."),
            (None, None) => "Here is what is new.".to_string(),
        };
        let closing = match (person.segment, person.company) {
            (Some("enterprise"), Some(company)) => {
                format!("Your account manager can walk the {company} team through it this week.")
            }
            (Some("enterprise"), None) => {
                "Your account manager can walk your team through it this week.".to_string()
            }
            _ => "Reply to this email and we will set it up for you.".to_string(),
        };

        let mut body =
            format!("{greeting}\n\n{intro} {offer}\n\n{closing}\n\nThe Acme Marketing team");
        // Only the gardening copy carries the disclosure (see the crate docs).
        if person.interest == Some("gardening") {
            body.push_str("\n\n");
            body.push_str(DISCLOSURE);
        }
        Self { subject, body }
    }
}

/// `text` with its first character in upper case.
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_guest::testing::MockHost;

    const NOW: i64 = 1_767_607_200_000;

    fn contact(
        mock: MockHost,
        id: &str,
        first_name: &str,
        interest: &str,
        consent: &str,
    ) -> MockHost {
        mock.record(
            "contacts",
            id,
            "EU",
            &[
                ("first_name", first_name),
                ("company", "Vogel GmbH"),
                ("interest", interest),
                ("segment", "smb"),
                ("consent_email", consent),
            ],
        )
    }

    fn history(
        mock: MockHost,
        id: &str,
        contact_id: &str,
        channel: &str,
        days_ago: i64,
    ) -> MockHost {
        let at = (NOW - days_ago * DAY_MS).to_string();
        mock.record(
            "history",
            id,
            "EU",
            &[
                ("contact_id", contact_id),
                ("channel", channel),
                ("at_ms", &at),
                ("kind", "sent"),
            ],
        )
    }

    fn ctx(params: &[(&str, &str)]) -> RunContext {
        let mut ctx = RunContext::for_test();
        ctx.params = params
            .iter()
            .map(|(name, value)| Field {
                name: name.to_string(),
                value: value.to_string(),
            })
            .collect();
        ctx
    }

    fn ids(actions: &[Action]) -> Vec<&str> {
        actions.iter().map(|a| a.id.as_str()).collect()
    }

    fn logged(needle: &str) -> bool {
        MockHost::logs()
            .iter()
            .any(|(_, line)| line.contains(needle))
    }

    #[test]
    fn describes_itself() {
        let info = Outreach::describe();
        assert_eq!(
            (info.name.as_str(), info.version.as_str()),
            ("email-outreach", "0.1.0")
        );
        assert!(info.sdk.is_some());
    }

    #[test]
    fn contacts_without_email_consent_are_skipped_and_logged() {
        let mock = MockHost::new().at(NOW);
        let mock = contact(mock, "c-1", "Ada", "travel", "express");
        let mock = contact(mock, "c-2", "Bert", "travel", "withdrawn");
        let mock = contact(mock, "c-3", "Cleo", "travel", "none");
        mock.record("contacts", "c-4", "EU", &[("first_name", "Dora")])
            .install();

        let actions = Outreach::act(ctx(&[])).expect("act");
        assert_eq!(ids(&actions), ["test-run/c-1"]);
        assert!(logged("skipping c-2: email consent is withdrawn"));
        assert!(logged("skipping c-3: email consent is none"));
        assert!(logged("skipping c-4: email consent is not recorded"));
    }

    #[test]
    fn recently_emailed_contacts_are_skipped() {
        let mock = MockHost::new().at(NOW);
        let mock = contact(mock, "c-1", "Ada", "travel", "express");
        let mock = contact(mock, "c-2", "Bert", "travel", "express");
        let mock = contact(mock, "c-3", "Cleo", "travel", "express");
        let mock = history(mock, "h-1", "c-1", "email", 3); // recent email
        let mock = history(mock, "h-2", "c-2", "sms", 1); // recent, other channel
        let mock = history(mock, "h-3", "c-3", "email", 20); // long ago
        mock.install();

        let actions = Outreach::act(ctx(&[])).expect("act");
        assert_eq!(ids(&actions), ["test-run/c-2", "test-run/c-3"]);
        assert!(logged("skipping c-1: emailed 3 days ago (h-1)"));

        // A longer quiet period also holds back the contact emailed 20 days ago.
        let actions = Outreach::act(ctx(&[("quiet_days", "30")])).expect("act");
        assert_eq!(ids(&actions), ["test-run/c-2"]);
        // No quiet period: everyone.
        let actions = Outreach::act(ctx(&[("quiet_days", "0")])).expect("act");
        assert_eq!(actions.len(), 3);
    }

    #[test]
    fn unreadable_history_time_holds_the_contact_back() {
        let mock = MockHost::new().at(NOW);
        let mock = contact(mock, "c-1", "Ada", "travel", "express");
        mock.record(
            "history",
            "h-1",
            "EU",
            &[
                ("contact_id", "c-1"),
                ("channel", "email"),
                ("at_ms", "yesterday"),
            ],
        )
        .install();
        assert!(Outreach::act(ctx(&[])).expect("act").is_empty());
        assert!(logged("no readable `at_ms`"));
    }

    #[test]
    fn emails_are_personalised_and_complete() {
        let mock = MockHost::new().at(NOW);
        let mock = contact(mock, "c-1", "Ada", "travel", "express");
        let mock = history(mock, "h-1", "c-1", "email", 40);
        let mock = history(mock, "h-2", "c-1", "sms", 2);
        mock.install();

        let actions = Outreach::act(ctx(&[])).expect("act");
        assert_eq!(actions.len(), 1);
        let action = &actions[0];
        assert_eq!(action.id, "test-run/c-1");
        assert_eq!(action.agent, "test-agent");
        assert_eq!(action.region, "EU");
        assert_eq!(action.evidence, ["c-1", "h-1", "h-2"]);
        assert_eq!(action.estimated_cost.currency, "USD");
        assert_eq!(action.estimated_cost.micros, 1_000);
        assert!(action.rationale.starts_with("Ada consented to email"));
        assert!(action.rationale.ends_with('.'));

        let email = action.as_email().expect("an email");
        assert_eq!(email.to.contact_id, "c-1");
        assert_eq!(
            email.sender,
            Sender::unstamped(),
            "the host stamps the sender"
        );
        assert_eq!(email.purpose, Purpose::Commercial, "outreach is marketing");
        assert_eq!(email.send_at, None, "sent when approved");
        assert_eq!(
            email.targeting,
            [
                Criterion::person("interest", "travel"),
                Criterion::organisation("segment", "smb"),
            ]
        );
        assert!(email.subject.starts_with("Ada, "), "{}", email.subject);
        assert!(email.subject.contains("Vogel GmbH"));
        assert!(email.body.starts_with("Hi Ada,"));
        assert!(email.body.contains("Vogel GmbH"));
        assert!(email.body.contains("interested in travel"));
    }

    #[test]
    fn the_sender_and_the_footer_are_left_to_the_host_and_the_packs() {
        let mock = MockHost::new().at(NOW);
        contact(mock, "c-1", "Ada", "gardening", "soft-opt-in").install();
        let actions = Outreach::act(ctx(&[])).expect("act");
        let email = actions[0].as_email().expect("an email");
        assert_eq!(email.sender, Sender::unstamped());
        assert_eq!(email.reply_to, None);
        assert_eq!(email.unsubscribe, None);
        assert_eq!(email.postal_address, None);
        // The only closing text is the brand's disclosure (gardening copy),
        // not an address or a link.
        assert!(email.body.ends_with(DISCLOSURE), "{}", email.body);
        assert!(!email.body.contains("http"), "{}", email.body);
        assert!(!email.body.contains("Main St"), "{}", email.body);
    }

    #[test]
    fn targeting_names_the_person_and_the_organisation_apart() {
        let person = |interest, segment| Person {
            first_name: None,
            company: None,
            interest,
            segment,
        };
        assert_eq!(
            targeting_of(&person(Some("fitness"), Some("enterprise"))),
            [
                Criterion::person("interest", "fitness"),
                Criterion::organisation("segment", "enterprise"),
            ]
        );
        assert_eq!(
            targeting_of(&person(None, Some("smb"))),
            [Criterion::organisation("segment", "smb")]
        );
        assert!(targeting_of(&person(None, None)).is_empty());
    }

    #[test]
    fn copy_follows_the_interest() {
        let person = |interest, segment| Person {
            first_name: Some("Ada"),
            company: Some("Vogel GmbH"),
            interest,
            segment,
        };
        let body = |interest| EmailCopy::for_person(&person(Some(interest), Some("smb"))).body;
        assert!(body("fitness").contains("guaranteed"));
        assert!(body("finance").contains("The acme finance desk"));
        assert!(body("gardening").ends_with(DISCLOSURE));
        for interest in ["fitness", "finance", "travel", "knitting"] {
            assert!(!body(interest).contains(DISCLOSURE), "{interest}");
        }
        let enterprise = EmailCopy::for_person(&person(Some("travel"), Some("enterprise")));
        assert!(
            enterprise
                .body
                .contains("account manager can walk the Vogel GmbH team")
        );
        let other = EmailCopy::for_person(&person(None, None));
        assert_eq!(other.subject, "Ada, what's new at Acme this spring");
    }

    #[test]
    fn missing_fields_fall_back_to_neutral_copy() {
        MockHost::new()
            .at(NOW)
            .record(
                "contacts",
                "c-1",
                "EU",
                &[("consent_email", "express"), ("first_name", " ")],
            )
            .install();
        let actions = Outreach::act(ctx(&[])).expect("act");
        let email = actions[0].as_email().expect("an email");
        assert_eq!(email.subject, "What's new at Acme this spring");
        assert!(email.body.starts_with("Hello,\n\nHere is what is new. "));
        assert!(actions[0].rationale.starts_with("The contact consented"));
    }

    #[test]
    fn max_emails_caps_the_proposals() {
        let mut mock = MockHost::new().at(NOW);
        for i in 0..25 {
            mock = contact(mock, &format!("c-{i:02}"), "Ada", "travel", "express");
        }
        mock.install();

        assert_eq!(
            Outreach::act(ctx(&[])).expect("act").len(),
            DEFAULT_MAX_EMAILS
        );
        let actions = Outreach::act(ctx(&[("max_emails", "3")])).expect("act");
        assert_eq!(
            ids(&actions),
            ["test-run/c-00", "test-run/c-01", "test-run/c-02"]
        );
        assert!(logged(
            "cap of 3 emails reached; 22 contacts not considered"
        ));
        assert!(
            Outreach::act(ctx(&[("max_emails", "0")]))
                .expect("act")
                .is_empty()
        );
    }

    #[test]
    fn segment_param_filters_contacts() {
        let mock = MockHost::new().at(NOW);
        let mock = contact(mock, "c-1", "Ada", "travel", "express");
        mock.record(
            "contacts",
            "c-2",
            "EU",
            &[("segment", "enterprise"), ("consent_email", "express")],
        )
        .install();
        let actions = Outreach::act(ctx(&[("segment", "enterprise")])).expect("act");
        assert_eq!(ids(&actions), ["test-run/c-2"]);
    }

    #[test]
    fn malformed_params_are_invalid_context() {
        MockHost::new().at(NOW).install();
        for params in [
            [("quiet_days", "two weeks")],
            [("quiet_days", "-1")],
            [("max_emails", "1.5")],
            [("segment", " ")],
        ] {
            match Outreach::act(ctx(&params)) {
                Err(SkillError::InvalidContext(message)) => {
                    assert!(message.contains(params[0].0), "{message}")
                }
                other => panic!("{params:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn host_errors_are_reported() {
        MockHost::new().at(NOW).install(); // no `contacts` collection
        assert!(matches!(
            Outreach::act(ctx(&[])),
            Err(SkillError::Host(HostError::UnknownCollection(_)))
        ));
    }
}
