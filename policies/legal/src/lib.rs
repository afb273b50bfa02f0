//! The `legal` policy pack: the law on outbound email and text messages.
//!
//! One rule per legal obligation, each applied only to the action kinds it
//! concerns (ad budgets, audiences and generic actions are always allowed).
//! Every rule denies: these are legal exposures, not matters of taste.
//!
//! | rule | severity | applies to | checks |
//! |---|---|---|---|
//! | [`CAN_SPAM_UNSUBSCRIBE`] | critical | commercial email | an `unsubscribe-url` that is an `http(s)://` link |
//! | [`CAN_SPAM_POSTAL_ADDRESS`] | high | commercial email | a non-empty `postal-address` |
//! | [`CAN_SPAM_SENDER_ID`] | high | commercial email | a `from-name` and a plausible `from-address` |
//! | [`CAN_SPAM_DECEPTIVE_SUBJECT`] | high | commercial email | no `RE:`/`FW:`/`FWD:` subject prefix on a first contact |
//! | [`CAN_SPAM_AD_DISCLOSURE`] | high | commercial email, when configured | the body carries the ad disclosure text |
//! | [`GDPR_CONSENT`] | critical | email and SMS to `to.region == "EU"` | consent granted, or a lawful basis whose evidence the action cites |
//! | [`TCPA_CONSENT`] | critical | SMS to `to.country == "US"` | prior express consent (consent granted) |
//! | [`TCPA_QUIET_HOURS`] | high | SMS to `to.country == "US"` | sent 08:00–21:00 in the recipient's local time |
//! | [`TCPA_OPT_OUT`] | high | SMS to `to.country == "US"` | the body says how to opt out (`STOP`) |
//! | [`CASL_CONSENT`] | critical | commercial email and SMS to `to.country == "CA"` | consent granted |
//! | [`CASL_SENDER_ID`] | high | email and SMS to `to.country == "CA"` | email: `from-name` and `from-address`; SMS: a sender id |
//! | [`CASL_UNSUBSCRIBE`] | critical | email and SMS to `to.country == "CA"` | email: an `http(s)` unsubscribe link; SMS: `STOP` instructions |
//!
//! The recipient facts (`to.*`) are stamped by the host from the system of
//! record, so the pack trusts them. Where an obligation applies under two
//! laws (a Canadian commercial email without an unsubscribe link breaks
//! CAN-SPAM and CASL), both rules fire: each names the law a marketer or a
//! lawyer will look up.
//!
//! # Decisions
//!
//! - **CAN-SPAM** covers every commercial email (`commercial == true`)
//!   whatever the recipient's country: the sender is a US business.
//!   Transactional email (`commercial == false`) is out of its scope.
//! - **Deceptive subject**: `RE:`, `FW:` or `FWD:` (any case, optional
//!   spaces before the colon, after leading spaces) on a first contact.
//!   "Re-engage" or "Reading list" are not prefixes. A returning contact may
//!   get a genuine reply.
//! - **GDPR/ePrivacy**: an EU recipient of an email or SMS needs recorded
//!   consent, or a documented lawful basis (`to.lawful-basis`, e.g.
//!   `contract`) whose evidence the action cites in `evidence`. The evidence
//!   of a basis is the contact record it was stamped from (`to.contact-id`),
//!   or the id written after a colon (`contract:ev-77`). A recorded opt-out
//!   (`consent == denied`) overrides any other basis for marketing
//!   (commercial email and SMS; Art. 21(3) GDPR): only a transactional email
//!   may still rely on the basis.
//! - **TCPA**: local time is `ctx.now + to.utc-offset-minutes`; 20:59 is
//!   allowed, 21:00 is not, 08:00 is. `STOP` must appear as a word in any
//!   case ("Reply stop to opt out"); "nonstop" or "STOPPED" do not count.
//!   Every SMS is treated as marketing (the SMS record has no `commercial`
//!   flag).
//! - **CASL** covers email and SMS to Canada. Consent is required of
//!   commercial messages (every SMS, commercial email); a transactional email
//!   is exempt from consent but still identifies its sender and carries an
//!   unsubscribe mechanism (CASL s. 6(2) and 6(6)).
//!
//! # Where findings point
//!
//! Every finding has a location. Text problems point at the offending text
//! (the `RE:` that starts the `subject`, the whole bad `unsubscribe-url`).
//! Missing text points at the field with an empty span: at its end for a
//! body that lacks something (where it should be added), at `0..0` for an
//! absent field. Recipient facts point at the fact (`to.consent`,
//! `to.utc-offset-minutes`) with its value as the excerpt.
//!
//! # Configuration
//!
//! Read through [`host::config`] from the pack manifest (`pack.toml`):
//!
//! - `ad-disclosure-required`: `true` (also `yes`, `1`, any case) makes
//!   every commercial email carry the ad disclosure; anything else, or
//!   absent, disables [`CAN_SPAM_AD_DISCLOSURE`].
//! - `ad-disclosure`: the text that identifies the email as an ad (default
//!   [`DEFAULT_AD_DISCLOSURE`]), matched case-insensitively, whatever the
//!   whitespace between its words. Empty means the default.

use gatehouse_guest::prelude::*;

/// The pack's name.
pub const PACK_NAME: &str = "legal";
/// The pack's version.
pub const PACK_VERSION: &str = "0.1.0";

/// Rule id: a working unsubscribe mechanism in commercial email.
pub const CAN_SPAM_UNSUBSCRIBE: &str = "legal.can-spam.unsubscribe";
/// Rule id: the sender's physical postal address in commercial email.
pub const CAN_SPAM_POSTAL_ADDRESS: &str = "legal.can-spam.postal-address";
/// Rule id: sender identification in commercial email.
pub const CAN_SPAM_SENDER_ID: &str = "legal.can-spam.sender-id";
/// Rule id: no deceptive subject line in commercial email.
pub const CAN_SPAM_DECEPTIVE_SUBJECT: &str = "legal.can-spam.deceptive-subject";
/// Rule id: commercial email identified as an ad, when configured.
pub const CAN_SPAM_AD_DISCLOSURE: &str = "legal.can-spam.ad-disclosure";
/// Rule id: EU recipients need consent or a cited lawful basis.
pub const GDPR_CONSENT: &str = "legal.gdpr.consent";
/// Rule id: prior express consent for SMS to the US.
pub const TCPA_CONSENT: &str = "legal.tcpa.consent";
/// Rule id: SMS to the US only 08:00–21:00 local time.
pub const TCPA_QUIET_HOURS: &str = "legal.tcpa.quiet-hours";
/// Rule id: SMS to the US say how to opt out.
pub const TCPA_OPT_OUT: &str = "legal.tcpa.opt-out";
/// Rule id: consent for commercial messages to Canada.
pub const CASL_CONSENT: &str = "legal.casl.consent";
/// Rule id: sender identification in messages to Canada.
pub const CASL_SENDER_ID: &str = "legal.casl.sender-id";
/// Rule id: an unsubscribe mechanism in messages to Canada.
pub const CASL_UNSUBSCRIBE: &str = "legal.casl.unsubscribe";

/// The ad disclosure used when the `ad-disclosure` key is absent or empty.
pub const DEFAULT_AD_DISCLOSURE: &str = "Advertisement";

/// The first minute of the day (local) an SMS may go to a US recipient.
pub const TCPA_FIRST_MINUTE: i64 = 8 * 60;
/// The first minute of the day (local) an SMS may no longer go out.
pub const TCPA_END_MINUTE: i64 = 21 * 60;

/// The opt-out keyword an SMS must carry (matched as a word, any case).
pub const OPT_OUT_KEYWORD: &str = "STOP";

/// Subject prefixes that pretend a conversation already exists.
const THREAD_PREFIXES: &[&str] = &["re", "fwd", "fw"];

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;

/// The legal policy pack.
pub struct Legal;

impl Policy for Legal {
    fn describe() -> PackInfo {
        PackInfo::new(PACK_NAME, PACK_VERSION)
            .rule(
                CAN_SPAM_UNSUBSCRIBE,
                Severity::Critical,
                "CAN-SPAM: commercial emails carry a working unsubscribe link (http or https).",
            )
            .rule(
                CAN_SPAM_POSTAL_ADDRESS,
                Severity::High,
                "CAN-SPAM: commercial emails carry the sender's physical postal address.",
            )
            .rule(
                CAN_SPAM_SENDER_ID,
                Severity::High,
                "CAN-SPAM: commercial emails name the sender and come from a valid email address.",
            )
            .rule(
                CAN_SPAM_DECEPTIVE_SUBJECT,
                Severity::High,
                "CAN-SPAM: commercial subject lines do not start with RE:/FW:/FWD: on a first contact.",
            )
            .rule(
                CAN_SPAM_AD_DISCLOSURE,
                Severity::High,
                "CAN-SPAM: when configured, commercial emails identify themselves as an advertisement.",
            )
            .rule(
                GDPR_CONSENT,
                Severity::Critical,
                "GDPR/ePrivacy: emails and texts to EU recipients need recorded consent or a \
                 documented lawful basis cited as evidence.",
            )
            .rule(
                TCPA_CONSENT,
                Severity::Critical,
                "TCPA: texts to US recipients need their prior express consent.",
            )
            .rule(
                TCPA_QUIET_HOURS,
                Severity::High,
                "TCPA: texts to US recipients go out only between 08:00 and 21:00 their local time.",
            )
            .rule(
                TCPA_OPT_OUT,
                Severity::High,
                "TCPA: texts to US recipients say how to opt out (reply STOP).",
            )
            .rule(
                CASL_CONSENT,
                Severity::Critical,
                "CASL: commercial emails and texts to Canadian recipients need their consent.",
            )
            .rule(
                CASL_SENDER_ID,
                Severity::High,
                "CASL: emails and texts to Canadian recipients identify the sender.",
            )
            .rule(
                CASL_UNSUBSCRIBE,
                Severity::Critical,
                "CASL: emails and texts to Canadian recipients carry an unsubscribe mechanism \
                 (a link, or STOP for texts).",
            )
    }

    fn validate(action: Action, ctx: RunContext) -> Verdict {
        let mut judge = Judge::new();
        match &action.kind {
            ActionKind::Email(email) => {
                if email.commercial {
                    check_can_spam(email, &mut judge);
                }
                check_gdpr(&action, &email.to, email.commercial, &mut judge);
                if is_country(&email.to, "CA") {
                    check_casl_email(email, &mut judge);
                }
            }
            ActionKind::Sms(sms) => {
                check_gdpr(&action, &sms.to, true, &mut judge);
                if is_country(&sms.to, "US") {
                    check_tcpa(sms, &ctx, &mut judge);
                }
                if is_country(&sms.to, "CA") {
                    check_casl_sms(sms, &mut judge);
                }
            }
            ActionKind::AdBudget(_) | ActionKind::Audience(_) | ActionKind::Generic(_) => {}
        }
        judge.verdict()
    }
}

gatehouse_guest::export_policy!(Legal);

// ---------------------------------------------------------------------------
// CAN-SPAM

fn check_can_spam(email: &Email, judge: &mut Judge) {
    if let Some(problem) = unsubscribe_problem(email) {
        judge.deny(problem.finding(
            CAN_SPAM_UNSUBSCRIBE,
            Severity::Critical,
            "US law (CAN-SPAM) requires every promotional email to offer a working way to opt out",
        ));
    }

    let postal = email.postal_address.as_deref().unwrap_or("");
    if postal.trim().is_empty() {
        judge.deny(
            Finding::new(
                CAN_SPAM_POSTAL_ADDRESS,
                Severity::High,
                "This promotional email does not give the sender's postal address. US law \
                 (CAN-SPAM) requires a valid physical postal address in every commercial email: \
                 fill in the postal address.",
            )
            .at("postal-address", 0, postal),
        );
    }

    for problem in sender_problems(email) {
        judge.deny(problem.finding(
            CAN_SPAM_SENDER_ID,
            Severity::High,
            "US law (CAN-SPAM) requires promotional emails to say truthfully who sends them",
        ));
    }

    if email.to.first_contact
        && let Some((start, prefix)) = thread_prefix(&email.subject)
    {
        judge.deny(
            Finding::new(
                CAN_SPAM_DECEPTIVE_SUBJECT,
                Severity::High,
                format!(
                    "The subject starts with \"{prefix}\", but this is the first email to this \
                     contact: it pretends to continue a conversation that never happened, which \
                     US law (CAN-SPAM) treats as a deceptive subject line. Remove \"{prefix}\"."
                ),
            )
            .at("subject", start, prefix),
        );
    }

    if ad_disclosure_required() {
        let configured = host::config("ad-disclosure").unwrap_or_default();
        let configured = collapse_whitespace(&configured);
        let disclosure = match configured.as_str() {
            "" => DEFAULT_AD_DISCLOSURE,
            text => text,
        };
        if !contains_words(&email.body, disclosure) {
            judge.deny(
                Finding::new(
                    CAN_SPAM_AD_DISCLOSURE,
                    Severity::High,
                    format!(
                        "This promotional email must identify itself as an advertisement: add \
                         \"{disclosure}\" to the body."
                    ),
                )
                .at("body", email.body.len(), ""),
            );
        }
    }
}

/// True when the configuration asks every commercial email to carry the
/// ad disclosure.
fn ad_disclosure_required() -> bool {
    host::config("ad-disclosure-required").is_some_and(|v| {
        let v = v.trim();
        ["true", "yes", "1"]
            .iter()
            .any(|t| v.eq_ignore_ascii_case(t))
    })
}

// ---------------------------------------------------------------------------
// GDPR / ePrivacy

/// An EU recipient needs consent, or a lawful basis whose evidence is cited.
/// `marketing` is true for commercial email and every SMS: there a recorded
/// opt-out overrides any other basis.
fn check_gdpr(action: &Action, to: &Recipient, marketing: bool, judge: &mut Judge) {
    if !to.region.trim().eq_ignore_ascii_case("EU") {
        return;
    }
    if to.consent == Consent::Granted {
        return;
    }
    let channel = channel_name(action);
    let finding = |message: String| {
        Finding::new(GDPR_CONSENT, Severity::Critical, message).evidence([to.contact_id.clone()])
    };

    if to.consent == Consent::Denied && marketing {
        judge.deny(
            finding(format!(
                "This recipient in the EU has opted out of marketing by {channel}. Under GDPR an \
                 opt-out overrides any other lawful basis: do not send this message."
            ))
            .at("to.consent", 0, consent_name(to.consent)),
        );
        return;
    }

    let basis = to.lawful_basis.as_deref().map(str::trim).unwrap_or("");
    if basis.is_empty() {
        judge.deny(
            finding(format!(
                "This recipient is in the EU and has not consented to {channel} (consent: {}), \
                 and no other lawful basis is on record. Under GDPR and ePrivacy rules the \
                 message cannot be sent.",
                consent_name(to.consent)
            ))
            .at("to.consent", 0, consent_name(to.consent)),
        );
        return;
    }

    let (basis_name, evidence_id) = basis_evidence(basis, &to.contact_id);
    if !action.evidence.iter().any(|e| e.trim() == evidence_id) {
        let raw = to.lawful_basis.as_deref().unwrap_or("");
        judge.deny(
            finding(format!(
                "This recipient is in the EU and has not consented to {channel}; the message \
                 relies on the lawful basis \"{basis_name}\" but does not cite the record that \
                 documents it. Add \"{evidence_id}\" to the action's evidence."
            ))
            .at("to.lawful-basis", 0, raw),
        );
    }
}

/// The lawful basis's name and the id of the evidence that documents it:
/// the id after a colon (`contract:ev-77`), else the contact record.
fn basis_evidence<'a>(basis: &'a str, contact_id: &'a str) -> (&'a str, &'a str) {
    match basis.split_once(':') {
        Some((name, id)) if !id.trim().is_empty() => (name.trim(), id.trim()),
        _ => (basis.trim_end_matches(':').trim(), contact_id),
    }
}

// ---------------------------------------------------------------------------
// TCPA

fn check_tcpa(sms: &Sms, ctx: &RunContext, judge: &mut Judge) {
    if sms.to.consent != Consent::Granted {
        let consent = consent_name(sms.to.consent);
        judge.deny(
            Finding::new(
                TCPA_CONSENT,
                Severity::Critical,
                format!(
                    "This US recipient has not given prior express consent to receive texts \
                     (consent: {consent}). US law (TCPA) forbids marketing texts without it."
                ),
            )
            .evidence([sms.to.contact_id.clone()])
            .at("to.consent", 0, consent),
        );
    }

    let minute = local_minute_of_day(ctx.now, sms.to.utc_offset_minutes);
    if !(TCPA_FIRST_MINUTE..TCPA_END_MINUTE).contains(&minute) {
        let offset = sms.to.utc_offset_minutes.to_string();
        judge.deny(
            Finding::new(
                TCPA_QUIET_HOURS,
                Severity::High,
                format!(
                    "It is {} for this US recipient ({}). US law (TCPA) allows texts only \
                     between 08:00 and 21:00 the recipient's local time: schedule it for later.",
                    clock(minute),
                    utc_offset(sms.to.utc_offset_minutes)
                ),
            )
            .evidence([sms.to.contact_id.clone()])
            .at("to.utc-offset-minutes", 0, &offset),
        );
    }

    if find_word(&sms.body, OPT_OUT_KEYWORD).is_none() {
        judge.deny(
            Finding::new(
                TCPA_OPT_OUT,
                Severity::High,
                "This text to a US recipient does not say how to opt out. US law (TCPA) \
                 requires opt-out instructions: add \"Reply STOP to opt out.\"",
            )
            .at("body", sms.body.len(), ""),
        );
    }
}

/// Minutes since local midnight at `now` (UTC ms) for `offset` minutes.
fn local_minute_of_day(now: Timestamp, offset_minutes: i32) -> i64 {
    let local = now.saturating_add(i64::from(offset_minutes) * MINUTE_MS);
    local.rem_euclid(DAY_MS) / MINUTE_MS
}

/// `HH:MM` for a minute of the day.
fn clock(minute: i64) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// `UTC-05:00` for -300.
fn utc_offset(minutes: i32) -> String {
    let sign = if minutes < 0 { '-' } else { '+' };
    let abs = minutes.unsigned_abs();
    format!("UTC{sign}{:02}:{:02}", abs / 60, abs % 60)
}

// ---------------------------------------------------------------------------
// CASL

fn check_casl_email(email: &Email, judge: &mut Judge) {
    if email.commercial && email.to.consent != Consent::Granted {
        judge.deny(casl_consent_finding(&email.to, "email"));
    }
    for problem in sender_problems(email) {
        judge.deny(problem.finding(
            CASL_SENDER_ID,
            Severity::High,
            "Canadian law (CASL) requires messages to identify their sender",
        ));
    }
    if let Some(problem) = unsubscribe_problem(email) {
        judge.deny(problem.finding(
            CASL_UNSUBSCRIBE,
            Severity::Critical,
            "Canadian law (CASL) requires every message to offer a working way to unsubscribe",
        ));
    }
}

fn check_casl_sms(sms: &Sms, judge: &mut Judge) {
    if sms.to.consent != Consent::Granted {
        judge.deny(casl_consent_finding(&sms.to, "text messages"));
    }
    if sms.sender.trim().is_empty() {
        judge.deny(
            Finding::new(
                CASL_SENDER_ID,
                Severity::High,
                "This text to a Canadian recipient has no sender id. Canadian law (CASL) \
                 requires messages to identify their sender: set the sender.",
            )
            .at("sender", 0, &sms.sender),
        );
    }
    if find_word(&sms.body, OPT_OUT_KEYWORD).is_none() {
        judge.deny(
            Finding::new(
                CASL_UNSUBSCRIBE,
                Severity::Critical,
                "This text to a Canadian recipient does not say how to unsubscribe. Canadian \
                 law (CASL) requires it: add \"Reply STOP to unsubscribe.\"",
            )
            .at("body", sms.body.len(), ""),
        );
    }
}

fn casl_consent_finding(to: &Recipient, channel: &str) -> Finding {
    let consent = consent_name(to.consent);
    Finding::new(
        CASL_CONSENT,
        Severity::Critical,
        format!(
            "This Canadian recipient has not consented to commercial {channel} (consent: \
             {consent}). Canadian law (CASL) forbids sending it without consent."
        ),
    )
    .evidence([to.contact_id.clone()])
    .at("to.consent", 0, consent)
}

// ---------------------------------------------------------------------------
// Shared checks

/// Something missing or wrong in one field of an email, to be reported
/// under the rule of one law or another.
struct FieldProblem {
    field: &'static str,
    /// The offending value (empty when absent).
    value: String,
    /// What is wrong and how to fix it, without the law.
    what: String,
}

impl FieldProblem {
    fn finding(&self, rule: &str, severity: Severity, law: &str) -> Finding {
        Finding::new(rule, severity, format!("{} {law}.", self.what)).at(self.field, 0, &self.value)
    }
}

/// What is wrong with an email's unsubscribe link, if anything.
fn unsubscribe_problem(email: &Email) -> Option<FieldProblem> {
    match email.unsubscribe_url.as_deref() {
        None => Some(FieldProblem {
            field: "unsubscribe-url",
            value: String::new(),
            what: "This email has no unsubscribe link: add one (https://...).".to_string(),
        }),
        Some(url) if url.trim().is_empty() => Some(FieldProblem {
            field: "unsubscribe-url",
            value: url.to_string(),
            what: "This email's unsubscribe link is empty: add one (https://...).".to_string(),
        }),
        Some(url) if !is_web_url(url) => Some(FieldProblem {
            field: "unsubscribe-url",
            value: url.to_string(),
            what: format!(
                "The unsubscribe link \"{url}\" is not a web address starting with http:// or \
                 https://, so recipients cannot use it: fix the link."
            ),
        }),
        Some(_) => None,
    }
}

/// What is wrong with an email's sender identification: one problem per
/// field.
fn sender_problems(email: &Email) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    if email.from_name.trim().is_empty() {
        problems.push(FieldProblem {
            field: "from-name",
            value: email.from_name.clone(),
            what: "This email has no sender name: set the from name (e.g. the brand).".to_string(),
        });
    }
    let address = email.from_address.as_str();
    if address.trim().is_empty() {
        problems.push(FieldProblem {
            field: "from-address",
            value: address.to_string(),
            what: "This email has no sender address: set the from address.".to_string(),
        });
    } else if !is_plausible_email(address) {
        problems.push(FieldProblem {
            field: "from-address",
            value: address.to_string(),
            what: format!(
                "The sender address \"{address}\" is not a valid email address: fix the from \
                 address."
            ),
        });
    }
    problems
}

/// True when `url` is an absolute `http://` or `https://` link with a host
/// and no whitespace.
fn is_web_url(url: &str) -> bool {
    let url = url.trim();
    if url.chars().any(char::is_whitespace) {
        return false;
    }
    let rest = ["https://", "http://"].iter().find_map(|scheme| {
        url.get(..scheme.len())
            .filter(|head| head.eq_ignore_ascii_case(scheme))
            .map(|_| &url[scheme.len()..])
    });
    let Some(rest) = rest else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let host = host.split(':').next().unwrap_or("");
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && !host.starts_with('.')
        && !host.ends_with('.')
}

/// True when `address` looks like a deliverable email address:
/// `local@domain.tld`, one `@`, no spaces, a dotted domain of letters,
/// digits and hyphens with a letter-only top-level domain.
fn is_plausible_email(address: &str) -> bool {
    let address = address.trim();
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()));
    local_ok && domain_ok
}

/// The `RE:`, `FW:` or `FWD:` prefix (any case, optional spaces before the
/// colon) that starts `subject` after leading spaces: its byte offset and
/// text.
fn thread_prefix(subject: &str) -> Option<(usize, &str)> {
    let start = subject.len() - subject.trim_start().len();
    let rest = &subject[start..];
    THREAD_PREFIXES.iter().find_map(|prefix| {
        let head = rest.get(..prefix.len())?;
        if !head.eq_ignore_ascii_case(prefix) {
            return None;
        }
        let after = &rest[prefix.len()..];
        let spaces = after.len() - after.trim_start().len();
        after[spaces..]
            .starts_with(':')
            .then(|| (start, &rest[..prefix.len() + spaces + 1]))
    })
}

/// Byte offset of the first whole-word, ASCII-case-insensitive occurrence
/// of `word` in `text`. A boundary is only required on a side where `word`
/// itself starts or ends with a word character ("STOP" does not match in
/// "nonstop" or "STOPPED"; "[Ad]" matches in "x[Ad]").
fn find_word(text: &str, word: &str) -> Option<usize> {
    if word.is_empty() {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    let needle = word.to_ascii_lowercase();
    let needs_left = needle.chars().next().is_some_and(is_word_char);
    let needs_right = needle.chars().next_back().is_some_and(is_word_char);
    lower.match_indices(&needle).map(|(i, _)| i).find(|&i| {
        let before = lower[..i].chars().next_back();
        let after = lower[i + needle.len()..].chars().next();
        let left_ok = !needs_left || !before.is_some_and(is_word_char);
        let right_ok = !needs_right || !after.is_some_and(is_word_char);
        left_ok && right_ok
    })
}

/// True when `needle` occurs in `haystack` as whole words, whatever the
/// case (ASCII) and the whitespace between its words (a wrapped disclosure
/// still counts).
fn contains_words(haystack: &str, needle: &str) -> bool {
    let needle = collapse_whitespace(needle);
    needle.is_empty() || find_word(&collapse_whitespace(haystack), &needle).is_some()
}

/// The words of `text` joined by single spaces.
fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Letters, digits and `_` make up words.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn is_country(to: &Recipient, code: &str) -> bool {
    to.country.trim().eq_ignore_ascii_case(code)
}

fn consent_name(consent: Consent) -> &'static str {
    match consent {
        Consent::Granted => "granted",
        Consent::Denied => "denied",
        Consent::Unknown => "unknown",
    }
}

fn channel_name(action: &Action) -> &'static str {
    match action.kind {
        ActionKind::Sms(_) => "text messages",
        _ => "email",
    }
}

#[cfg(test)]
mod tests;
