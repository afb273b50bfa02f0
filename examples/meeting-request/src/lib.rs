//! The `meeting-request` skill: ask every new lead of the run for a
//! meeting, in copy written to pass the brand pack.
//!
//! For every contact retrieved from the `contacts` collection whose
//! `consent_email` records a consent (`express-written`, `express`,
//! `implied` or `soft-opt-in`), the skill proposes one email asking for a
//! meeting. What the email opens with is configuration (served through
//! `host.config`, so a change of opener is a new configuration hash that
//! can be piloted against the current one):
//!
//! | `opener` | the first paragraph |
//! |---|---|
//! | `standard` (default) | a general introduction to Acme |
//! | `activity` | the contact's most recent recorded activity (`last_activity`), when there is one |
//! | `urgent` | a pressing call to reply today (which the brand pack sends to a human) |
//!
//! Every email states its purpose (`commercial`) and, when the `activity`
//! opener tailors it to the contact's recorded activity, that criterion
//! (about the person) in its targeting; the skill picks no one by any
//! other criterion. It writes no sender and no footer: the host stamps the
//! sender profile bound to the run's agent, and the packs append the
//! profile's unsubscribe mechanism and postal address where the
//! recipient's law asks for them.
//!
//! The skill proposes; it never sends.

use gatehouse_guest::prelude::*;

/// The skill's name.
pub const SKILL_NAME: &str = "meeting-request";
/// The skill's version.
pub const SKILL_VERSION: &str = "0.1.0";
/// The most contacts one run considers.
pub const CONTACTS_LIMIT: u32 = 2_000;
/// Estimated cost of one email, in millionths of a US dollar.
pub const COST_PER_EMAIL_MICROS: i64 = 2_000;

/// The disclosure of the sample sender profile (`examples/data/senders.toml`),
/// which the brand pack requires of Acme's commercial emails.
const DISCLOSURE: &str = "You are receiving this email because you are a customer of Acme.";

/// The meeting-request skill.
pub struct MeetingRequest;

/// How the email opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opener {
    /// A general introduction.
    Standard,
    /// The contact's last recorded activity.
    Activity,
    /// A pressing call to reply today.
    Urgent,
}

impl Opener {
    /// The configured opener; an unknown value is an error, not a default.
    pub fn configured(value: Option<&str>) -> Result<Self, SkillError> {
        match value.map(str::trim) {
            None | Some("standard") => Ok(Self::Standard),
            Some("activity") => Ok(Self::Activity),
            Some("urgent") => Ok(Self::Urgent),
            Some(other) => Err(SkillError::InvalidContext(format!(
                "configuration `opener` is `{other}`; expected standard, activity or urgent"
            ))),
        }
    }
}

impl Skill for MeetingRequest {
    fn describe() -> SkillInfo {
        SkillInfo::new(SKILL_NAME, SKILL_VERSION)
    }

    fn act(ctx: RunContext) -> Result<Vec<Action>, SkillError> {
        let opener = Opener::configured(host::config("opener").as_deref())?;
        let contacts = host::find("contacts", &[], CONTACTS_LIMIT).map_err(SkillError::Host)?;
        let mut actions = Vec::new();
        for contact in &contacts {
            if !matches!(
                contact.get("consent_email"),
                Some("express-written" | "express" | "implied" | "soft-opt-in")
            ) {
                continue;
            }
            actions.push(propose(&ctx, contact, opener));
        }
        host::log(
            Level::Info,
            &format!(
                "proposed {} meeting requests from {} contacts",
                actions.len(),
                contacts.len()
            ),
        );
        Ok(actions)
    }
}

gatehouse_guest::export_skill!(MeetingRequest);

/// The email proposed to `contact`.
pub fn propose(ctx: &RunContext, contact: &Evidence, opener: Opener) -> Action {
    let field = |name| contact.get(name).map(str::trim).filter(|v| !v.is_empty());
    let name = field("first_name").unwrap_or("there");
    let company = field("company").unwrap_or("your team");
    let mut targeting = Vec::new();
    let first = match (opener, field("last_activity")) {
        (Opener::Activity, Some(activity)) => {
            targeting.push(Criterion::person("last-activity", activity));
            format!("I saw that you {activity} recently, so I thought of {company}.")
        }
        (Opener::Urgent, _) => {
            "Our spring pricing ends this week, so please reply today!!!".to_string()
        }
        _ => format!("Acme helps teams like {company} plan their campaigns in half the time."),
    };
    let subject = format!("{name}, 20 minutes to plan {company}'s next campaign?");
    let body = format!(
        "Hi {name},\n\n{first}\n\nCould we find 20 minutes next week to show you how? \
         Reply with a time that suits you.\n\nThe Acme Marketing team\n\n{DISCLOSURE}"
    );
    let email = Email {
        to: Recipient::contact(&contact.id),
        sender: Sender::unstamped(),
        reply_to: None,
        subject,
        body,
        // No footer: the packs append the sender profile's.
        unsubscribe: None,
        postal_address: None,
        purpose: Purpose::Commercial,
        send_at: None,
        targeting,
    };
    let mut action = Action::new(
        &format!("{}/{}", ctx.run_id, contact.id),
        ActionKind::Email(email),
    )
    .by(&ctx.agent, &contact.partition)
    .citing([contact.id.as_str()])
    .because(&format!(
        "{} consented to email and is a new lead.",
        field("first_name").unwrap_or("The contact")
    ));
    action.estimated_cost = Money {
        currency: "USD".to_string(),
        micros: COST_PER_EMAIL_MICROS,
    };
    action
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_guest::testing::MockHost;

    fn lead(mock: MockHost, id: &str, consent: &str) -> MockHost {
        mock.record(
            "contacts",
            id,
            "EU",
            &[
                ("first_name", "Greta"),
                ("company", "Vogel GmbH"),
                ("consent_email", consent),
                ("last_activity", "downloaded the planning guide"),
            ],
        )
    }

    fn body(a: &Action) -> &str {
        &a.as_email().expect("an email").body
    }

    #[test]
    fn asks_only_consenting_leads() {
        lead(lead(MockHost::new(), "c-1", "express"), "c-2", "withdrawn").install();
        let actions = MeetingRequest::act(RunContext::for_test()).expect("acts");
        assert_eq!(actions.len(), 1);
        assert!(actions[0].id.ends_with("/c-1"));
        assert!(body(&actions[0]).contains(DISCLOSURE));
    }

    #[test]
    fn the_email_states_its_purpose_and_leaves_sender_and_footer_to_others() {
        lead(MockHost::new(), "c-1", "implied").install();
        let actions = MeetingRequest::act(RunContext::for_test()).expect("acts");
        let email = actions[0].as_email().expect("an email");
        assert_eq!(email.purpose, Purpose::Commercial);
        assert_eq!(email.send_at, None);
        assert_eq!(email.sender, Sender::unstamped());
        assert_eq!(email.to, Recipient::contact("c-1"));
        assert_eq!(
            (email.unsubscribe.as_ref(), email.postal_address.as_ref()),
            (None, None)
        );
        assert!(!email.body.contains("Main St") && !email.body.contains("http"));
        // The standard opener tailors nothing to the person.
        assert!(email.targeting.is_empty(), "{:?}", email.targeting);
    }

    #[test]
    fn the_opener_follows_the_configuration() {
        lead(MockHost::new(), "c-1", "express")
            .config("opener", "activity")
            .install();
        let actions = MeetingRequest::act(RunContext::for_test()).expect("acts");
        assert!(body(&actions[0]).contains("downloaded the planning guide recently"));
        // The activity it was tailored to is a criterion about the person.
        assert_eq!(
            actions[0].as_email().expect("an email").targeting,
            [Criterion::person(
                "last-activity",
                "downloaded the planning guide"
            )]
        );

        lead(MockHost::new(), "c-1", "express").install();
        let actions = MeetingRequest::act(RunContext::for_test()).expect("acts");
        assert!(!body(&actions[0]).contains("planning guide"));
    }

    #[test]
    fn an_unknown_opener_fails_the_run() {
        lead(MockHost::new(), "c-1", "express")
            .config("opener", "shouty")
            .install();
        assert!(matches!(
            MeetingRequest::act(RunContext::for_test()),
            Err(SkillError::InvalidContext(_))
        ));
    }
}
