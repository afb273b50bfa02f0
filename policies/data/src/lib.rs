//! The `data` policy pack: what personal data may go where.
//!
//! | rule | severity | citation | applies to | verdict |
//! |---|---|---|---|---|
//! | [`PII_IN_CONTENT`] (`data.pii-in-content`) | high | GDPR Art. 5(1)(f), Art. 32 | email subject and body, SMS body, ad copy: no email addresses, phone numbers, payment card numbers or IBANs | modify (masks card numbers and IBANs); deny (email addresses, phone numbers) |
//! | [`SPECIAL_CATEGORY_TARGETING`] (`data.special-category-targeting`) | critical | GDPR Art. 9(1) | targeting criteria about the person on emails, texts and audiences | escalate |
//! | [`PARTITION`] (`data.partition`) | critical | GDPR Art. 44 | audience updates adding, replacing or exporting: EU contacts go only to platform region `EU` | deny |
//! | [`MINIMISATION`] (`data.minimisation`) | high | GDPR Art. 5(1)(c) | audience exports: only the configured contact fields | modify (drops the others) |
//!
//! Every finding cites its rule's statute (`citation`), and every finding
//! of a modification says what was changed (`fix`).
//!
//! # Fix before deny
//!
//! - An export with too many fields is lawful once the extra fields are
//!   dropped, so the pack drops them (modify).
//! - A payment card number or an IBAN in a message is masked down to its
//!   last four digits (an IBAN keeps its country code and check digits
//!   too), the form in which receipts and statements show them: "your card
//!   ending 1111" still means what the author meant, and the full number no
//!   longer travels (modify).
//! - An email address or a phone number in a message is denied: masking
//!   it would leave a message pointing at a contact nobody can read, so no
//!   edit keeps its meaning, and the author must rewrite it (a link the
//!   recipient signs in to, or the company's own contacts listed in the
//!   configuration).
//! - Special categories need a person: GDPR Art. 9(2) lists exceptions
//!   (explicit consent, data made public by the person) that only a person
//!   can judge (escalate).
//! - EU contacts sent to a platform outside the EU cannot be fixed by an
//!   edit of the action (another audience is another action): deny.
//!
//! Other action kinds (and the machine-readable payload of a generic
//! action) are allowed.
//!
//! Criteria about the organisation (`about: organisation`: industry, size,
//! employer) are firmographics, not data about the person: a clinic's
//! industry is not its employee's health.
//!
//! # Personal data in content
//!
//! One finding per hit, pointing at the field (`subject`, `body`,
//! `ad-copy`) and the byte span of the hit. The text is cut into tokens at
//! whitespace (wrapping brackets, quotes and sentence punctuation are not
//! part of a token; `Ref:4471` and `tel:+49…` are a label and a value), and
//! a hit must start and end on a token boundary: digits in the middle of
//! `INV-2026-0412-5567`, of a path or of an address never start one. The
//! detectors' candidates, together with the identifiers that are not
//! personal data but that nothing may look inside (URLs, references after
//! a label such as `Ref:`, `Order no.`, `Invoice #`, and account numbers
//! written like an IBAN that fail its check), are taken longest first, so
//! no detector fires inside another identifier. The detectors:
//!
//! - **Email addresses**: `local@domain.tld` (dotted domain, letter-only
//!   top-level domain of two or more letters). An email's own `from-address`
//!   and `reply-to`, and addresses at the configured
//!   `allowed-email-domains` (and their subdomains), are not personal data
//!   of a recipient and are not flagged. An address inside a URL is part of
//!   the link, not a word of the message.
//! - **IBANs**: two capital letters, two check digits and the account
//!   number (15–34 characters in all, optionally in groups separated by
//!   single spaces), valid under the ISO 7064 mod-97 check. A reference
//!   code that merely looks like an IBAN fails the check.
//! - **Payment card numbers**: 13–19 digits, optionally grouped by single
//!   spaces or dashes, passing the Luhn check (so most order numbers are
//!   not flagged; about one in ten random digit strings passes Luhn, so a
//!   13–19 digit order number can still be, and is then masked).
//! - **Phone numbers**: international (`+` and 8–16 digits, any grouping
//!   by spaces, dashes, dots and parentheses) or national with 9–12 digits
//!   in a common format: three or more groups with one kind of separator
//!   (`555-123-4567`, `06 12 34 56 78`), an area code in parentheses
//!   (`(555) 123-4567`), or a leading trunk `0` (`030 1234567`,
//!   `07700900123`). Numbers listed in `allowed-phone-numbers` (compared
//!   digit by digit) are not flagged.
//!
//! What is deliberately *not* flagged: names (the recipient's own first name
//! is the point of personalisation), prices (`$1,234`, `1,234.56`,
//! `€ 100 000 000`), dates and times (`2026-01-05 10:00`, `05.01.2026`),
//! decimals, numbers written with dot thousands separators
//! (`1.234.567.890`), and digit runs that are part of a word, a path
//! (`/u/123456789`), a URL, an email address, an IBAN or a reference
//! (`#123-456-789`, `Ref: 4471-2290-1183`). An email's unsubscribe link is
//! a separate field and is not checked.
//!
//! The excerpts of card numbers and IBANs are masked the same way as the
//! message (all but the last four digits, and an IBAN's country code and
//! check digits, become `*`) so that findings, which are recorded and
//! displayed, do not copy financial data; the span still gives the exact
//! offsets, and the masked text has the same length.
//!
//! # Targeting and audiences
//!
//! - Special categories (GDPR Art. 9): each criterion about the person is
//!   matched (value, then attribute) case-insensitively against the
//!   configured keywords as whole words, punctuation counting as spaces
//!   (`trade-union` matches `trade union`), with an optional plural `s`. One
//!   finding per offending criterion, pointing at `targeting[i].value` (or
//!   `.attribute`) and the keyword's span in it. Applies to every audience
//!   operation and every message: selecting people by such data is
//!   processing it.
//! - Partitions: the contacts are EU data when the action's `region` is
//!   `EU` or the run's partition is `EU` (a run only reads its own
//!   partition, so a skill cannot relabel EU contacts). Adding, replacing
//!   or exporting them to a `platform-region` other than `EU` is denied;
//!   removing contacts from an audience sends nothing new and is allowed.
//! - Minimisation: an export (`operation == export`) may only send the
//!   configured fields (case-insensitive); one finding per extra field,
//!   pointing at `fields[i]`, and the extra fields are dropped.
//!
//! # Configuration
//!
//! Read through [`host::config`] from the pack manifest (`pack.toml`). For
//! each list (newline-separated, blank lines ignored), a present key
//! *replaces* the built-in default:
//!
//! - `special-categories`: targeting keywords (default
//!   [`DEFAULT_SPECIAL_CATEGORIES`]); empty disables the rule.
//! - `allowed-export-fields`: the fields an export may send (default
//!   [`DEFAULT_ALLOWED_EXPORT_FIELDS`]); empty allows none.
//! - `allowed-email-domains`: the company's own domains (default none).
//! - `allowed-phone-numbers`: the company's own numbers (default none).

use gatehouse_guest::prelude::*;

mod pii;

pub use pii::{Pii, PiiKind, luhn_valid, mod97_valid};

/// The pack's name.
pub const PACK_NAME: &str = "data";
/// The pack's version.
pub const PACK_VERSION: &str = "0.2.0";

/// Rule id: personal data in content or ad copy.
pub const PII_IN_CONTENT: &str = "data.pii-in-content";
/// Rule id: targeting on special-category data about the person.
pub const SPECIAL_CATEGORY_TARGETING: &str = "data.special-category-targeting";

/// The statutes the rules apply.
pub mod citation {
    /// Personal data in content: integrity and confidentiality.
    pub const PII_IN_CONTENT: &str = "GDPR Art. 5(1)(f), Art. 32";
    /// Special categories of personal data.
    pub const SPECIAL_CATEGORY: &str = "GDPR Art. 9(1)";
    /// Transfers out of the EU partition.
    pub const PARTITION: &str = "GDPR Art. 44";
    /// Data minimisation.
    pub const MINIMISATION: &str = "GDPR Art. 5(1)(c)";
}
/// Rule id: EU contacts stay in the EU partition.
pub const PARTITION: &str = "data.partition";
/// Rule id: exports send only the allowed fields.
pub const MINIMISATION: &str = "data.minimisation";

/// The targeting keywords used when `special-categories` is absent
/// (lowercase; GDPR Art. 9 categories).
pub const DEFAULT_SPECIAL_CATEGORIES: &[&str] = &[
    // health
    "health",
    "medical",
    "disease",
    "illness",
    "diabetes",
    "diabetic",
    "cancer",
    "hiv",
    "pregnancy",
    "pregnant",
    "fertility",
    "ivf",
    "depression",
    "anxiety",
    "mental health",
    "disability",
    "disabled",
    "addiction",
    "medication",
    // religion and beliefs
    "religion",
    "religious",
    "faith",
    "christian",
    "catholic",
    "protestant",
    "muslim",
    "islam",
    "jewish",
    "judaism",
    "hindu",
    "buddhist",
    "sikh",
    "atheist",
    // racial or ethnic origin
    "ethnicity",
    "ethnic",
    "race",
    "racial",
    // sex life and sexual orientation
    "sexual orientation",
    "sex life",
    "gay",
    "lesbian",
    "bisexual",
    "lgbt",
    "lgbtq",
    "transgender",
    // political opinions
    "political",
    "politics",
    "democrat",
    "republican",
    // trade-union membership
    "trade union",
    "labor union",
    "labour union",
    "union member",
    // biometric and genetic data
    "biometric",
    "genetic",
    "dna",
    "fingerprint",
];

/// The fields an export may send when `allowed-export-fields` is absent.
pub const DEFAULT_ALLOWED_EXPORT_FIELDS: &[&str] = &["hashed_email", "country"];

/// The data policy pack.
pub struct Data;

impl Policy for Data {
    fn describe() -> PackInfo {
        PackInfo::new(PACK_NAME, PACK_VERSION)
            .cited_rule(
                PII_IN_CONTENT,
                Severity::High,
                citation::PII_IN_CONTENT,
                "Message content and ad copy carry no personal data: email addresses and phone \
                 numbers are refused, payment card numbers and IBANs are masked to their last \
                 four digits.",
            )
            .cited_rule(
                SPECIAL_CATEGORY_TARGETING,
                Severity::Critical,
                citation::SPECIAL_CATEGORY,
                "Messages and audiences picked by the person's health, religion, ethnicity, \
                 sexual orientation, politics, union membership or biometrics go to a person \
                 who judges the Art. 9(2) exceptions (escalate); firmographics do not count.",
            )
            .cited_rule(
                PARTITION,
                Severity::Critical,
                citation::PARTITION,
                "EU contacts are only added or exported to audiences in the EU platform region.",
            )
            .cited_rule(
                MINIMISATION,
                Severity::High,
                citation::MINIMISATION,
                "Audience exports send only the contact fields the configuration allows; \
                 others are dropped from the export.",
            )
    }

    fn validate(action: Action, ctx: RunContext) -> Verdict {
        let mut judge = Judge::new();
        match &action.kind {
            ActionKind::Email(email) => {
                let own: Vec<&str> = std::iter::once(email.sender.from_address.as_str())
                    .chain(email.reply_to.as_deref())
                    .collect();
                check_pii(&action, &own, &mut judge);
                check_special_categories(&email.targeting, "message", &mut judge);
            }
            ActionKind::Sms(sms) => {
                check_pii(&action, &[], &mut judge);
                check_special_categories(&sms.targeting, "message", &mut judge);
            }
            ActionKind::AdBudget(_) => check_pii(&action, &[], &mut judge),
            ActionKind::Audience(audience) => {
                check_special_categories(&audience.targeting, "audience", &mut judge);
                check_partition(&action, audience, &ctx, &mut judge);
                check_minimisation(&action, audience, &mut judge);
            }
            ActionKind::Generic(_) => {}
        }
        judge.verdict()
    }
}

gatehouse_guest::export_policy!(Data);

// ---------------------------------------------------------------------------
// data.pii-in-content

/// Mask every card number and IBAN in the action's prose fields, and deny
/// every email address and phone number. `own_addresses` are the sender's
/// addresses, which are not flagged.
fn check_pii(action: &Action, own_addresses: &[&str], judge: &mut Judge) {
    let allow = pii::Allow {
        addresses: own_addresses
            .iter()
            .map(|a| a.trim().to_ascii_lowercase())
            .filter(|a| !a.is_empty())
            .collect(),
        domains: config_list("allowed-email-domains", &[]),
        phones: config_list("allowed-phone-numbers", &[])
            .iter()
            .map(|n| pii::digits_of(n))
            .filter(|d| !d.is_empty())
            .collect(),
    };
    for (field, text) in action.texts() {
        if !matches!(field, "subject" | "body" | "ad-copy") {
            continue;
        }
        let place = match field {
            "ad-copy" => "ad copy",
            other => other,
        };
        for hit in pii::scan(text, &allow) {
            let what = hit.kind.describe();
            let excerpt = hit.excerpt(text);
            if hit.kind.is_financial() {
                let finding = Finding::new(
                    PII_IN_CONTENT,
                    Severity::High,
                    format!(
                        "The {place} contained {what}; it was masked to its last four digits \
                         (\"{excerpt}\"). Financial data must never appear in full in messages."
                    ),
                )
                .at(field, hit.start, &excerpt)
                .citing(citation::PII_IN_CONTENT)
                .fixed(format!("masked {what} in the {place} to \"{excerpt}\""));
                let (start, end) = (hit.start, hit.end);
                judge.modify(action, finding, |changed| {
                    // The mask has the length of the number, so the other
                    // hits' offsets still hold.
                    if let Some(target) = changed.text_mut(field)
                        && target.get(start..end).is_some()
                    {
                        target.replace_range(start..end, &excerpt);
                    }
                });
            } else {
                judge.deny(
                    Finding::new(
                        PII_IN_CONTENT,
                        Severity::High,
                        format!(
                            "The {place} contains {what} (\"{excerpt}\"). Personal data must not \
                             appear in message content or ads: remove it or replace it with a \
                             link the recipient signs in to."
                        ),
                    )
                    .at(field, hit.start, &excerpt)
                    .citing(citation::PII_IN_CONTENT),
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------
// data.special-category-targeting

/// Escalate every criterion about the person that names special-category
/// data; criteria about the organisation (industry, size) are firmographics,
/// not data about the person, and never fire.
fn check_special_categories(targeting: &[Criterion], what: &str, judge: &mut Judge) {
    let keywords: Vec<String> = config_list("special-categories", DEFAULT_SPECIAL_CATEGORIES)
        .iter()
        .map(|k| normalise_keyword(k))
        .filter(|k| !k.is_empty())
        .collect();
    if keywords.is_empty() {
        return;
    }
    for (i, criterion) in targeting.iter().enumerate() {
        if criterion.about != Subject::Person {
            continue;
        }
        let hit = [
            ("value", &criterion.value),
            ("attribute", &criterion.attribute),
        ]
        .into_iter()
        .find_map(|(part, text)| special_category_match(text, &keywords).map(|m| (part, text, m)));
        let Some((part, text, (start, len, keyword))) = hit else {
            continue;
        };
        let found = &text[start..start + len];
        judge.escalate(
            Finding::new(
                SPECIAL_CATEGORY_TARGETING,
                Severity::Critical,
                format!(
                    "This {what} picks people by \"{}: {}\", which is special-category data \
                     about them (\"{keyword}\"). Processing it needs an exception of GDPR Art. \
                     9(2), such as explicit consent: a person must judge whether one applies.",
                    criterion.attribute, criterion.value
                ),
            )
            .at(&format!("targeting[{i}].{part}"), start, found)
            .citing(citation::SPECIAL_CATEGORY),
        );
    }
}

/// A keyword as matched: ASCII-lowercased, runs of punctuation and spaces
/// made one space.
fn normalise_keyword(keyword: &str) -> String {
    keyword
        .to_ascii_lowercase()
        .split(|c: char| c.is_ascii() && !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The earliest keyword hit in `attribute`: byte offset and length in the
/// attribute, and the keyword.
fn special_category_match<'k>(
    attribute: &str,
    keywords: &'k [String],
) -> Option<(usize, usize, &'k str)> {
    // Same length as the attribute: every ASCII non-alphanumeric byte
    // becomes a space, so offsets carry over.
    let flat: String = attribute
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_alphanumeric() {
                ' '
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    let bytes = flat.as_bytes();
    let is_word = |i: usize| {
        bytes
            .get(i)
            .is_some_and(|&b| b.is_ascii_alphanumeric() || b >= 0x80)
    };
    keywords
        .iter()
        .filter_map(|keyword| {
            flat.match_indices(keyword.as_str()).find_map(|(start, _)| {
                if start > 0 && is_word(start - 1) {
                    return None;
                }
                let end = start + keyword.len();
                let len = if !is_word(end) {
                    keyword.len()
                } else if bytes[end] == b's' && !is_word(end + 1) {
                    keyword.len() + 1
                } else {
                    return None;
                };
                Some((start, len, keyword.as_str()))
            })
        })
        .min_by_key(|&(start, len, _)| (start, std::cmp::Reverse(len)))
}

// ---------------------------------------------------------------------------
// data.partition

fn check_partition(
    action: &Action,
    audience: &AudienceUpdate,
    ctx: &RunContext,
    judge: &mut Judge,
) {
    let is_eu = |region: &str| region.trim().eq_ignore_ascii_case("EU");
    if !(is_eu(&action.region) || is_eu(&ctx.partition)) {
        return;
    }
    if audience.operation == AudienceOperation::Remove || is_eu(&audience.platform_region) {
        return;
    }
    let region = match audience.platform_region.trim() {
        "" => "an unknown".to_string(),
        r => format!("the {r}"),
    };
    judge.deny(
        Finding::new(
            PARTITION,
            Severity::Critical,
            format!(
                "These contacts are EU data, but audience \"{}\" on {} is in {region} region. EU \
                 contacts must stay in the EU partition: use an audience in the EU region.",
                audience.audience_id, audience.platform
            ),
        )
        .at("platform-region", 0, &audience.platform_region)
        .citing(citation::PARTITION),
    );
}

// ---------------------------------------------------------------------------
// data.minimisation

/// An export that sends fields beyond the allowed ones is fixed: the extra
/// fields are dropped from it (the export itself is lawful).
fn check_minimisation(action: &Action, audience: &AudienceUpdate, judge: &mut Judge) {
    if audience.operation != AudienceOperation::Export {
        return;
    }
    let allowed: Vec<String> = config_list("allowed-export-fields", DEFAULT_ALLOWED_EXPORT_FIELDS)
        .iter()
        .map(|f| f.to_ascii_lowercase())
        .collect();
    let allowed_text = if allowed.is_empty() {
        "exports may not send any contact field".to_string()
    } else {
        format!("exports may only send {}", allowed.join(", "))
    };
    let keep = |field: &str| allowed.contains(&field.trim().to_ascii_lowercase());
    let mut reported: Vec<String> = Vec::new();
    for (i, field) in audience.fields.iter().enumerate() {
        let name = field.trim().to_ascii_lowercase();
        if keep(field) || reported.contains(&name) {
            continue;
        }
        reported.push(name);
        let finding = Finding::new(
            MINIMISATION,
            Severity::High,
            format!(
                "The export to {} sent the contact field \"{field}\", which is not needed: \
                 {allowed_text}.",
                audience.platform
            ),
        )
        .at(&format!("fields[{i}]"), 0, field)
        .citing(citation::MINIMISATION)
        .fixed(format!("dropped \"{field}\" from the exported fields"));
        judge.modify(action, finding, |changed| {
            if let ActionKind::Audience(a) = &mut changed.kind {
                a.fields.retain(|f| keep(f));
            }
        });
    }
}

// ---------------------------------------------------------------------------
// Configuration

/// A newline-separated configuration list, trimmed, blank lines dropped;
/// `default` when the key is absent.
fn config_list(key: &str, default: &[&str]) -> Vec<String> {
    match host::config(key) {
        Some(value) => value
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
        None => default.iter().map(|s| s.to_string()).collect(),
    }
}

#[cfg(test)]
mod tests;
