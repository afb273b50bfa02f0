//! The `brand` policy pack: what Acme's messages may say and how they look.
//!
//! The pack reads the human-readable text of an action (email subject and
//! body, SMS body, ad copy; see [`Action::texts`]) and applies five rules:
//!
//! | rule | severity | verdict | checks |
//! |---|---|---|---|
//! | [`BANNED_CLAIM`] (`brand.banned-claim`) | high | deny | banned or risky claims ("guaranteed", "risk-free", "miracle", ...) in any text |
//! | [`REQUIRED_DISCLOSURE`] (`brand.required-disclosure`) | medium | modify | a commercial email's body carries the sender disclosure; appends it when missing |
//! | [`SUBJECT_LINE`] (`brand.subject-line`) | medium | deny | an email subject is not empty, at most 78 characters, not all capitals, has no `!!`, and does not fake a thread (`RE:`, `FW:`, `FWD:`) on a first contact |
//! | [`NAME_SPELLING`] (`brand.name-spelling`) | low | modify | the brand name is written in its canonical case ("ACME" becomes "Acme") |
//! | [`EXCLAMATION_RUN`] (`brand.exclamation-run`) | low | escalate | no run of three or more `!` in a body |
//!
//! A generic action's JSON payload is searched for banned claims too, but
//! never rewritten: the spelling rule only corrects prose fields.
//!
//! The findings combine as usual (see [`Judge`]): any deny wins, then any
//! escalation, then the modifications, else the action is allowed.
//!
//! # Configuration
//!
//! Read through [`host::config`] from the pack manifest (`pack.toml`):
//!
//! - `banned-claims`: newline-separated terms. When the key is present its
//!   terms *replace* the built-in list ([`DEFAULT_BANNED_CLAIMS`]); blank
//!   lines are ignored, so an empty value disables the rule.
//! - `disclosure`: the text a commercial email must carry when its sender
//!   is not stamped (offline checks of bare actions; default
//!   [`DEFAULT_DISCLOSURE`]); an empty value disables the rule. The
//!   disclosure binds to the brand: only emails whose `sender.brand` is
//!   `brand-name` get it, and a stamped sender's is its profile's first
//!   disclosure (a profile with none asks for none).
//! - `brand-name`: the canonical spelling of the brand (default
//!   [`DEFAULT_BRAND_NAME`]); an empty value disables the rule.
//!
//! # Matching
//!
//! Claims and brand names match case-insensitively (ASCII) and as whole
//! words: "cure" does not hit "secure", "Acme" does not hit "Acmeist". Each
//! text is lowercased once per call; since ASCII lowercasing keeps every byte
//! where it was, the offsets found in the lowercased copy are offsets into
//! the original text, which is what the findings' spans report.

use gatehouse_guest::prelude::*;

/// The pack's name.
pub const PACK_NAME: &str = "brand";
/// The pack's version.
pub const PACK_VERSION: &str = "0.2.0";

/// Rule id: banned and risky claims.
pub const BANNED_CLAIM: &str = "brand.banned-claim";
/// Rule id: the disclosure a commercial email must carry.
pub const REQUIRED_DISCLOSURE: &str = "brand.required-disclosure";
/// Rule id: email subject line hygiene.
pub const SUBJECT_LINE: &str = "brand.subject-line";
/// Rule id: the brand name's canonical spelling.
pub const NAME_SPELLING: &str = "brand.name-spelling";
/// Rule id: runs of exclamation marks in a body.
pub const EXCLAMATION_RUN: &str = "brand.exclamation-run";

/// The claims banned when the `banned-claims` configuration key is absent
/// (lowercase; matched case-insensitively).
pub const DEFAULT_BANNED_CLAIMS: &[&str] = &[
    "guaranteed",
    "risk-free",
    "100% free",
    "miracle",
    "cure",
    "lose weight",
    "double your money",
    "no risk",
    "best in the world",
    "#1 rated",
];

/// The disclosure required when the `disclosure` key is absent.
pub const DEFAULT_DISCLOSURE: &str = "You are receiving this email because you are a customer of Acme. Acme Inc., 100 Main St, Springfield.";

/// The brand name used when the `brand-name` key is absent.
pub const DEFAULT_BRAND_NAME: &str = "Acme";

/// The longest subject line allowed, in characters.
pub const MAX_SUBJECT_CHARS: usize = 78;

/// Subject prefixes that pretend a conversation already exists.
const THREAD_PREFIXES: &[&str] = &["re", "fwd", "fw"];

/// The brand policy pack.
pub struct Brand;

impl Policy for Brand {
    fn describe() -> PackInfo {
        PackInfo::new(PACK_NAME, PACK_VERSION)
            .rule(
                BANNED_CLAIM,
                Severity::High,
                "Messages make no banned or risky claims such as \"guaranteed\" or \"risk-free\".",
            )
            .rule(
                REQUIRED_DISCLOSURE,
                Severity::Medium,
                "Commercial emails carry the sender disclosure; it is appended when missing.",
            )
            .rule(
                SUBJECT_LINE,
                Severity::Medium,
                "Email subjects are 1 to 78 characters, not all capitals, without \"!!\", \
                 and never start with RE:/FW:/FWD: on a first contact.",
            )
            .rule(
                NAME_SPELLING,
                Severity::Low,
                "The brand name is spelled in its canonical case; other spellings are corrected.",
            )
            .rule(
                EXCLAMATION_RUN,
                Severity::Low,
                "Bodies with three or more exclamation marks in a row go to a human.",
            )
    }

    fn validate(action: Action, _ctx: RunContext) -> Verdict {
        let texts = LoweredTexts::of(&action);
        let mut judge = Judge::new();

        check_banned_claims(&texts, &mut judge);
        check_subject_line(&action, &mut judge);
        check_exclamation_runs(&texts, &mut judge);
        // Modifications apply in order: fix the spelling of the text the
        // skill wrote before appending the (canonical) disclosure.
        check_name_spelling(&action, &texts, &mut judge);
        check_disclosure(&action, &mut judge);

        judge.verdict()
    }
}

gatehouse_guest::export_policy!(Brand);

/// The action's text fields, each with an ASCII-lowercased copy made once.
struct LoweredTexts<'a> {
    texts: Vec<Text<'a>>,
}

/// One text field of an action.
struct Text<'a> {
    /// The field name, as in [`Action::texts`].
    field: &'static str,
    /// The text as written.
    original: &'a str,
    /// The same text, ASCII-lowercased: same length, same byte offsets.
    lower: String,
}

impl<'a> LoweredTexts<'a> {
    fn of(action: &'a Action) -> Self {
        let texts = action
            .texts()
            .into_iter()
            .map(|(field, original)| Text {
                field,
                original,
                lower: original.to_ascii_lowercase(),
            })
            .collect();
        Self { texts }
    }

    fn iter(&self) -> impl Iterator<Item = &Text<'a>> {
        self.texts.iter()
    }
}

// ---------------------------------------------------------------------------
// brand.banned-claim

/// Deny every whole-word occurrence of a banned claim, in every text.
fn check_banned_claims(texts: &LoweredTexts<'_>, judge: &mut Judge) {
    let configured = host::config("banned-claims").map(|c| c.to_ascii_lowercase());
    let terms: Vec<&str> = match &configured {
        Some(list) => list
            .lines()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect(),
        None => DEFAULT_BANNED_CLAIMS.to_vec(),
    };
    for text in texts.iter() {
        // (start, length) of every hit, reported in reading order.
        let mut hits: Vec<(usize, usize)> = terms
            .iter()
            .flat_map(|term| whole_word_matches(&text.lower, term).map(|start| (start, term.len())))
            .collect();
        hits.sort_unstable();
        for (start, len) in hits {
            let matched = &text.original[start..start + len];
            judge.deny(
                Finding::new(
                    BANNED_CLAIM,
                    Severity::High,
                    format!(
                        "The {} makes a banned claim: \"{matched}\". Remove it or \
                         reword it without promising results.",
                        text.field
                    ),
                )
                .at(text.field, start, matched),
            );
        }
    }
}

// ---------------------------------------------------------------------------
// brand.required-disclosure

/// Append the disclosure to a commercial email of this pack's brand whose
/// body lacks it. The disclosure is the sender profile's first one, else the
/// configured text. Another brand's email is not this pack's to change.
fn check_disclosure(action: &Action, judge: &mut Judge) {
    let Some(email) = action.as_email() else {
        return;
    };
    if email.purpose != Purpose::Commercial || !is_our_brand(&email.sender.brand) {
        return;
    }
    // A stamped sender carries its brand's disclosures; a profile without
    // one asks for none. Only an unstamped sender (offline checks of bare
    // actions) falls back to the configured text.
    let disclosure = if email.sender.profile.trim().is_empty() {
        host::config("disclosure").unwrap_or_else(|| DEFAULT_DISCLOSURE.to_string())
    } else {
        match email.sender.disclosures.first() {
            Some(own) => own.clone(),
            None => return,
        }
    };
    let disclosure = disclosure.trim();
    if disclosure.is_empty() || contains_ignoring_whitespace(&email.body, disclosure) {
        return;
    }
    let finding = Finding::new(
        REQUIRED_DISCLOSURE,
        Severity::Medium,
        "This commercial email lacked the sender disclosure; it was appended to the body.",
    )
    .at("body", email.body.len(), "")
    .fixed(format!(
        "appended the disclosure of sender profile `{}`: \"{disclosure}\"",
        email.sender.profile
    ));
    judge.modify(action, finding, |changed| {
        if let ActionKind::Email(email) = &mut changed.kind {
            append_paragraph(&mut email.body, disclosure);
        }
    });
}

/// True when `needle` occurs in `haystack` word for word, whatever the
/// whitespace between the words (a wrapped disclosure still counts).
fn contains_ignoring_whitespace(haystack: &str, needle: &str) -> bool {
    let needle: Vec<&str> = needle.split_whitespace().collect();
    if needle.is_empty() {
        return true;
    }
    let words: Vec<&str> = haystack.split_whitespace().collect();
    words.windows(needle.len()).any(|w| w == needle.as_slice())
}

/// Append `paragraph` after a blank line, trimming trailing whitespace first.
fn append_paragraph(body: &mut String, paragraph: &str) {
    body.truncate(body.trim_end().len());
    if !body.is_empty() {
        body.push_str("\n\n");
    }
    body.push_str(paragraph);
}

// ---------------------------------------------------------------------------
// brand.subject-line

/// Deny an email whose subject breaks a subject-line rule; one finding per
/// broken rule (and per `!!` run).
fn check_subject_line(action: &Action, judge: &mut Judge) {
    let Some(email) = action.as_email() else {
        return;
    };
    let subject = email.subject.as_str();
    let finding = |message: String| Finding::new(SUBJECT_LINE, Severity::Medium, message);

    if subject.trim().is_empty() {
        judge.deny(finding("The subject line is empty.".to_string()).at("subject", 0, subject));
        return;
    }

    if let Some((overflow, _)) = subject.char_indices().nth(MAX_SUBJECT_CHARS) {
        let chars = subject.chars().count();
        judge.deny(
            finding(format!(
                "The subject line has {chars} characters; keep it to {MAX_SUBJECT_CHARS} or fewer."
            ))
            .at("subject", overflow, &subject[overflow..]),
        );
    }

    if is_all_capitals(subject) {
        judge.deny(
            finding("The subject line is written in capitals only.".to_string())
                .at("subject", 0, subject),
        );
    }

    for (start, len) in exclamation_runs(subject, 2) {
        judge.deny(
            finding("The subject line has more than one \"!\" in a row.".to_string()).at(
                "subject",
                start,
                &subject[start..start + len],
            ),
        );
    }

    if email.to.first_contact
        && let Some(prefix) = thread_prefix(subject)
    {
        judge.deny(
            finding(format!(
                "The subject starts with \"{}\" but this is the first email to this \
                 contact: it pretends a conversation that never happened.",
                prefix.text
            ))
            .at("subject", prefix.start, prefix.text),
        );
    }
}

/// True when the subject has more than three cased letters and none of
/// them is lowercase.
fn is_all_capitals(subject: &str) -> bool {
    let mut cased = 0;
    for c in subject.chars() {
        if c.is_lowercase() {
            return false;
        }
        if c.is_uppercase() {
            cased += 1;
        }
    }
    cased > 3
}

/// A `RE:`-like prefix found at the start of a subject.
struct ThreadPrefix<'a> {
    start: usize,
    text: &'a str,
}

/// The `RE:`, `FW:` or `FWD:` prefix (any case, optional spaces before the
/// colon) that starts `subject`, if any. "Re-engage" has none.
fn thread_prefix(subject: &str) -> Option<ThreadPrefix<'_>> {
    let start = subject.len() - subject.trim_start().len();
    let rest = &subject[start..];
    THREAD_PREFIXES.iter().find_map(|prefix| {
        let head = rest.get(..prefix.len())?;
        if !head.eq_ignore_ascii_case(prefix) {
            return None;
        }
        let after = &rest[prefix.len()..];
        let spaces = after.len() - after.trim_start().len();
        after[spaces..].starts_with(':').then(|| ThreadPrefix {
            start,
            text: &rest[..prefix.len() + spaces + 1],
        })
    })
}

// ---------------------------------------------------------------------------
// brand.exclamation-run

/// Escalate every run of three or more `!` in a body.
fn check_exclamation_runs(texts: &LoweredTexts<'_>, judge: &mut Judge) {
    for text in texts.iter().filter(|t| t.field == "body") {
        for (start, len) in exclamation_runs(text.original, 3) {
            judge.escalate(
                Finding::new(
                    EXCLAMATION_RUN,
                    Severity::Low,
                    format!("The body has {len} exclamation marks in a row."),
                )
                .at("body", start, &text.original[start..start + len]),
            );
        }
    }
}

/// Byte offset and length of every run of at least `min` `!` in `text`.
fn exclamation_runs(text: &str, min: usize) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut run_start = None;
    // A trailing sentinel closes a run that ends the text.
    for (i, b) in text.bytes().chain([b'\0']).enumerate() {
        match (b == b'!', run_start) {
            (true, None) => run_start = Some(i),
            (false, Some(start)) => {
                if i - start >= min {
                    runs.push((start, i - start));
                }
                run_start = None;
            }
            _ => {}
        }
    }
    runs
}

// ---------------------------------------------------------------------------
// brand.name-spelling

/// Correct every whole-word, wrongly cased brand name in the message texts.
///
/// Occurrences inside an address (`news@acme.example`,
/// `https://acme.example/u/1`) are not words of the message and are left
/// alone, as are machine-readable payloads.
fn check_name_spelling(action: &Action, texts: &LoweredTexts<'_>, judge: &mut Judge) {
    let brand = host::config("brand-name").unwrap_or_else(|| DEFAULT_BRAND_NAME.to_string());
    let brand = brand.trim();
    if brand.is_empty() {
        return;
    }
    let needle = brand.to_ascii_lowercase();
    for text in texts.iter().filter(|t| is_message_field(t.field)) {
        let hits: Vec<usize> = whole_word_matches(&text.lower, &needle)
            .filter(|&start| !in_address(&text.lower, start, needle.len()))
            .filter(|&start| &text.original[start..start + brand.len()] != brand)
            .collect();
        for &start in &hits {
            let found = &text.original[start..start + brand.len()];
            let finding = Finding::new(
                NAME_SPELLING,
                Severity::Low,
                format!("The brand is spelled \"{brand}\", not \"{found}\"; corrected."),
            )
            .at(text.field, start, found)
            .fixed(format!("replaced \"{found}\" with \"{brand}\""));
            let field = text.field;
            judge.modify(action, finding, |changed| {
                if let Some(target) = changed.text_mut(field) {
                    // ASCII case changes only: the length is unchanged, so
                    // the offsets found in the original stay valid.
                    if target.get(start..start + brand.len()).is_some() {
                        target.replace_range(start..start + brand.len(), brand);
                    }
                }
            });
        }
    }
}

/// True when a sender's brand is the one this pack is configured for
/// (`brand-name`, any case). An unstamped sender (offline checks of bare
/// actions) counts as ours.
fn is_our_brand(sender_brand: &str) -> bool {
    let ours = host::config("brand-name").unwrap_or_else(|| DEFAULT_BRAND_NAME.to_string());
    let sender_brand = sender_brand.trim();
    sender_brand.is_empty() || sender_brand.eq_ignore_ascii_case(ours.trim())
}

/// Fields a reader sees as prose (not machine-readable payloads).
fn is_message_field(field: &str) -> bool {
    matches!(field, "subject" | "body" | "ad-copy")
}

/// True when the match at `start..start + len` is part of an email address,
/// a host name or a URL path rather than a word of the message.
fn in_address(lower: &str, start: usize, len: usize) -> bool {
    let before = lower[..start].chars().next_back();
    let mut after = lower[start + len..].chars();
    let next = after.next();
    let next_next = after.next();
    matches!(before, Some('@' | '.' | '/'))
        || next == Some('@')
        || (next == Some('.') && next_next.is_some_and(is_word_char))
}

// ---------------------------------------------------------------------------
// Matching helpers

/// Byte offsets of the whole-word occurrences of `needle` in `haystack`
/// (both already lowercased). A boundary is only required on a side where
/// the needle itself starts or ends with a word character, so "#1 rated"
/// matches after any character but not before "ly".
fn whole_word_matches<'h>(haystack: &'h str, needle: &'h str) -> impl Iterator<Item = usize> + 'h {
    let needs_left = needle.chars().next().is_some_and(is_word_char);
    let needs_right = needle.chars().next_back().is_some_and(is_word_char);
    haystack
        .match_indices(needle)
        .map(|(start, _)| start)
        .filter(move |&start| {
            let left_ok = !needs_left
                || !haystack[..start]
                    .chars()
                    .next_back()
                    .is_some_and(is_word_char);
            let right_ok = !needs_right
                || !haystack[start + needle.len()..]
                    .chars()
                    .next()
                    .is_some_and(is_word_char);
            left_ok && right_ok
        })
}

/// Letters, digits and `_` make up words.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_guest::testing::{MockHost, findings, rules};

    /// A returning customer (not a first contact).
    fn returning(id: &str) -> Recipient {
        Recipient {
            first_contact: false,
            ..Recipient::contact(id)
        }
    }

    /// A commercial email to a returning customer, with the disclosure.
    fn email(subject: &str, body: &str) -> Action {
        let body = format!("{body}\n\n{DEFAULT_DISCLOSURE}");
        Action::email("a-1", returning("c-1"), Purpose::Commercial, subject, &body)
    }

    fn validate(action: Action) -> Verdict {
        Brand::validate(action, RunContext::for_test())
    }

    fn modified_email(verdict: &Verdict) -> Option<&Email> {
        match verdict {
            Verdict::Modify(m) => m.action.as_email(),
            _ => None,
        }
    }

    #[test]
    fn describes_every_rule() {
        let info = Brand::describe();
        assert_eq!(info.name, "brand");
        assert_eq!(info.version, "0.2.0");
        let ids: Vec<&str> = info.rules.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                BANNED_CLAIM,
                REQUIRED_DISCLOSURE,
                SUBJECT_LINE,
                NAME_SPELLING,
                EXCLAMATION_RUN
            ]
        );
        assert!(info.sdk.is_some());
    }

    #[test]
    fn clean_email_to_returning_customer_is_allowed() {
        MockHost::new().install();
        let action = email(
            "Spring ideas for your garden",
            "Hi Sofie,\n\nAcme's new planting guides are out. Reply if you want one.",
        );
        assert!(matches!(validate(action), Verdict::Allow));
    }

    #[test]
    fn banned_claim_is_denied_with_its_span() {
        MockHost::new().install();
        let body = "Results GUARANTEED, or your money back.";
        let action = email("Your plan", body);
        let verdict = validate(action);
        assert!(matches!(verdict, Verdict::Deny(_)), "{verdict:?}");
        let f = findings(&verdict);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule, BANNED_CLAIM);
        assert_eq!(f[0].severity, Severity::High);
        let span = f[0].location.as_ref().expect("a span");
        assert_eq!(span.field, "body");
        assert_eq!(span.start, 8);
        assert_eq!(span.end, 18);
        assert_eq!(span.excerpt, "GUARANTEED");
    }

    #[test]
    fn banned_claims_are_found_in_subject_sms_and_ad_copy() {
        MockHost::new().install();
        let verdict = validate(email("A Risk-Free trial", "Hi"));
        let f = findings(&verdict);
        assert_eq!(rules(&verdict), [BANNED_CLAIM]);
        let span = f[0].location.as_ref().expect("a span");
        assert_eq!((span.field.as_str(), span.start), ("subject", 2));
        assert_eq!(span.excerpt, "Risk-Free");

        let sms = Action::sms(
            "a-2",
            returning("c-1"),
            Purpose::Commercial,
            "Now 100% FREE: reply YES",
        );
        assert_eq!(rules(&validate(sms)), [BANNED_CLAIM]);

        let ad = Action::new(
            "a-3",
            ActionKind::AdBudget(AdBudgetChange {
                platform: "google-ads".to_string(),
                campaign_id: "cmp-1".to_string(),
                currency: "EUR".to_string(),
                current_daily_micros: 10_000_000,
                proposed_daily_micros: 12_000_000,
                ad_copy: Some("The #1 rated planner. Best in the world.".to_string()),
            }),
        );
        let verdict = validate(ad);
        assert!(matches!(verdict, Verdict::Deny(_)));
        let excerpts: Vec<&str> = findings(&verdict)
            .iter()
            .filter_map(|f| f.location.as_ref())
            .map(|s| s.excerpt.as_str())
            .collect();
        assert_eq!(excerpts, ["#1 rated", "Best in the world"]);
    }

    #[test]
    fn banned_claims_match_whole_words_only() {
        MockHost::new().install();
        // "cure" inside "secure", "procure" or "manicure" is not a claim.
        let action = email(
            "Secure checkout",
            "Procure your seats through our secure portal. Free manicure included.",
        );
        assert!(matches!(validate(action), Verdict::Allow));
    }

    #[test]
    fn every_occurrence_is_reported_with_offsets_into_the_original() {
        MockHost::new().install();
        // Non-ASCII text before the claim: offsets are bytes of the original.
        let body = "Schöne Grüße: a miracle! Truly a Miracle.";
        let verdict = validate(email("Hello", body));
        let starts: Vec<u32> = findings(&verdict)
            .iter()
            .filter_map(|f| f.location.as_ref())
            .map(|s| s.start)
            .collect();
        let first = body.find("miracle").expect("present") as u32;
        let second = body.find("Miracle").expect("present") as u32;
        assert_eq!(starts, [first, second]);
    }

    #[test]
    fn configured_banned_claims_replace_the_defaults() {
        MockHost::new()
            .config("banned-claims", "Once in a lifetime\n\n  act now  \n")
            .install();
        // A default term is no longer banned...
        assert!(matches!(
            validate(email("Hello", "Guaranteed delivery by Friday.")),
            Verdict::Allow
        ));
        // ...the configured ones are, trimmed and case-insensitive.
        let verdict = validate(email("Hello", "A once in a lifetime offer. ACT NOW."));
        assert_eq!(rules(&verdict), [BANNED_CLAIM, BANNED_CLAIM]);
    }

    #[test]
    fn empty_banned_claims_config_disables_the_rule() {
        MockHost::new().config("banned-claims", "").install();
        assert!(matches!(
            validate(email("Hello", "Guaranteed miracle cure.")),
            Verdict::Allow
        ));
    }

    #[test]
    fn missing_disclosure_is_appended() {
        MockHost::new().install();
        let action = Action::email(
            "a-1",
            returning("c-1"),
            Purpose::Commercial,
            "Hello",
            "Hi Ada,\nNew offers.\n\n",
        );
        let verdict = validate(action);
        assert_eq!(rules(&verdict), [REQUIRED_DISCLOSURE]);
        let f = findings(&verdict);
        assert_eq!(f[0].severity, Severity::Medium);
        let changed = modified_email(&verdict).expect("modified");
        assert_eq!(
            changed.body,
            format!("Hi Ada,\nNew offers.\n\n{DEFAULT_DISCLOSURE}")
        );
    }

    #[test]
    fn another_brands_email_gets_no_disclosure() {
        MockHost::new().install();
        let mut action = Action::email(
            "a-1",
            returning("c-1"),
            Purpose::Commercial,
            "Hello",
            "Hi Ada.",
        );
        if let ActionKind::Email(e) = &mut action.kind {
            e.sender.brand = "Globex".into();
        }
        assert_eq!(validate(action), Verdict::Allow);
    }

    #[test]
    fn a_profile_without_disclosures_asks_for_none() {
        MockHost::new().install();
        let mut action = Action::email(
            "a-1",
            returning("c-1"),
            Purpose::Commercial,
            "Hello",
            "Hi Ada.",
        );
        if let ActionKind::Email(e) = &mut action.kind {
            e.sender.brand = "Acme".into();
            e.sender.profile = "acme".into();
        }
        assert_eq!(validate(action), Verdict::Allow);
    }

    #[test]
    fn the_profiles_own_disclosure_is_appended() {
        MockHost::new().install();
        let mut action = Action::email(
            "a-1",
            returning("c-1"),
            Purpose::Commercial,
            "Hello",
            "Hi Ada.",
        );
        if let ActionKind::Email(e) = &mut action.kind {
            e.sender.brand = "Acme".into();
            e.sender.profile = "acme".into();
            e.sender.disclosures = vec!["Sent by Acme Inc. to its customers.".into()];
        }
        let verdict = validate(action);
        let email = modified_email(&verdict).expect("modified");
        assert!(email.body.ends_with("Sent by Acme Inc. to its customers."));
        assert!(
            findings(&verdict)[0]
                .fix
                .as_deref()
                .unwrap_or("")
                .contains("acme")
        );
    }

    #[test]
    fn disclosure_is_not_required_of_non_commercial_email() {
        MockHost::new().install();
        let mut action = Action::email(
            "a-1",
            returning("c-1"),
            Purpose::Transactional,
            "Your invoice",
            "Attached.",
        );
        if let ActionKind::Email(e) = &mut action.kind {
            e.purpose = Purpose::Transactional;
        }
        assert!(matches!(validate(action), Verdict::Allow));
    }

    #[test]
    fn wrapped_disclosure_counts_as_present() {
        MockHost::new().install();
        let wrapped = DEFAULT_DISCLOSURE.replacen(". ", ".\n", 1);
        let action = Action::email(
            "a-1",
            returning("c-1"),
            Purpose::Commercial,
            "Hello",
            &format!("Hi.\n\n{wrapped}"),
        );
        assert!(matches!(validate(action), Verdict::Allow));
    }

    #[test]
    fn configured_disclosure_is_used() {
        MockHost::new()
            .config("disclosure", "Sent by Acme GmbH, Berlin.")
            .install();
        let verdict = validate(Action::email(
            "a-1",
            returning("c-1"),
            Purpose::Commercial,
            "Hello",
            "Hi.",
        ));
        let changed = modified_email(&verdict).expect("modified");
        assert_eq!(changed.body, "Hi.\n\nSent by Acme GmbH, Berlin.");
        let ok = Action::email(
            "a-1",
            returning("c-1"),
            Purpose::Commercial,
            "Hello",
            "Hi.\nSent by Acme GmbH, Berlin.",
        );
        assert!(matches!(validate(ok), Verdict::Allow));
    }

    #[test]
    fn subject_rules_fire() {
        MockHost::new().install();
        let cases = [
            ("", "empty"),
            ("   ", "empty"),
            ("BIG SPRING SALE", "capitals"),
            ("Spring sale!!", "in a row"),
            ("Spring sale!!! Now", "in a row"),
        ];
        for (subject, message) in cases {
            let verdict = validate(email(subject, "Hi"));
            assert!(matches!(verdict, Verdict::Deny(_)), "{subject:?}");
            let f = findings(&verdict);
            assert_eq!(f[0].rule, SUBJECT_LINE, "{subject:?}");
            assert_eq!(f[0].severity, Severity::Medium);
            assert!(
                f[0].message.contains(message),
                "{subject:?}: {}",
                f[0].message
            );
        }
    }

    #[test]
    fn long_subject_points_at_the_overflow() {
        MockHost::new().install();
        let subject = format!("{}é tail", "a".repeat(MAX_SUBJECT_CHARS - 1));
        let verdict = validate(email(&subject, "Hi"));
        let f = findings(&verdict);
        assert_eq!(rules(&verdict), [SUBJECT_LINE]);
        let span = f[0].location.as_ref().expect("a span");
        assert_eq!(span.excerpt, " tail");
        assert_eq!(span.start as usize, MAX_SUBJECT_CHARS + 1); // 'é' is 2 bytes
        let exactly = "a".repeat(MAX_SUBJECT_CHARS);
        assert!(matches!(validate(email(&exactly, "Hi")), Verdict::Allow));
    }

    #[test]
    fn acceptable_subjects_pass() {
        MockHost::new().install();
        // One "!" at a time is fine; three capitals or fewer are not "all capitals".
        for subject in [
            "Spring sale!",
            "Hi! New plans! Take a look",
            "NEW",
            "Q2 plans for EU",
        ] {
            let verdict = validate(email(subject, "Hi"));
            assert!(
                matches!(verdict, Verdict::Allow),
                "{subject:?}: {verdict:?}"
            );
        }
    }

    #[test]
    fn thread_prefix_on_first_contact_is_denied() {
        MockHost::new().install();
        for (subject, excerpt) in [
            ("RE: our call", "RE:"),
            ("  re : our call", "re :"),
            ("Fwd: pricing", "Fwd:"),
            ("FW: pricing", "FW:"),
        ] {
            let action = Action::email(
                "a-1",
                Recipient::contact("c-9"),
                Purpose::Commercial,
                subject,
                DEFAULT_DISCLOSURE,
            );
            let verdict = validate(action);
            assert_eq!(rules(&verdict), [SUBJECT_LINE], "{subject:?}");
            let f = findings(&verdict);
            assert_eq!(f[0].location.as_ref().expect("span").excerpt, excerpt);
        }
    }

    #[test]
    fn thread_prefix_rules_do_not_fire_on_look_alikes_or_returning_contacts() {
        MockHost::new().install();
        let first = |subject: &str| {
            Action::email(
                "a-1",
                Recipient::contact("c-9"),
                Purpose::Commercial,
                subject,
                DEFAULT_DISCLOSURE,
            )
        };
        for subject in ["Re-engage with Acme", "Reading list", "Fwding soon", "Free"] {
            assert!(
                matches!(validate(first(subject)), Verdict::Allow),
                "{subject:?}"
            );
        }
        // A returning customer may get a reply in a thread.
        assert!(matches!(
            validate(email("Re: our call", "Hi")),
            Verdict::Allow
        ));
    }

    #[test]
    fn misspelled_brand_name_is_corrected() {
        MockHost::new().install();
        let action = email("News from ACME", "Hi,\nacme and AcMe say hello. Acme too.");
        let verdict = validate(action);
        assert_eq!(rules(&verdict), [NAME_SPELLING; 3]);
        let f = findings(&verdict);
        assert_eq!(f[0].severity, Severity::Low);
        let span = f[1].location.as_ref().expect("span");
        assert_eq!(
            (span.field.as_str(), span.start, span.excerpt.as_str()),
            ("body", 4, "acme")
        );
        let changed = modified_email(&verdict).expect("modified");
        assert_eq!(changed.subject, "News from Acme");
        assert!(
            changed
                .body
                .starts_with("Hi,\nAcme and Acme say hello. Acme too.")
        );
    }

    #[test]
    fn brand_name_matches_whole_words_outside_addresses() {
        MockHost::new().install();
        let action = email(
            "The Acmeist manifesto",
            "acmeist and ACMEs are not the brand. Write to news@acme.example \
             or visit https://acme.example/u/c-1 or www.acme.example.",
        );
        assert!(matches!(validate(action), Verdict::Allow));
    }

    #[test]
    fn configured_brand_name_is_used() {
        MockHost::new().config("brand-name", "Globex").install();
        let verdict = validate(email("GLOBEX news", "Hi"));
        let changed = modified_email(&verdict).expect("modified");
        assert_eq!(changed.subject, "Globex news");
    }

    #[test]
    fn spelling_and_disclosure_modifications_combine() {
        MockHost::new().install();
        let action = Action::email(
            "a-1",
            returning("c-1"),
            Purpose::Commercial,
            "Hello",
            "The acme team",
        );
        let verdict = validate(action);
        assert_eq!(rules(&verdict), [NAME_SPELLING, REQUIRED_DISCLOSURE]);
        let changed = modified_email(&verdict).expect("modified");
        assert_eq!(
            changed.body,
            format!("The Acme team\n\n{DEFAULT_DISCLOSURE}")
        );
    }

    #[test]
    fn exclamation_run_in_body_is_escalated() {
        MockHost::new().install();
        let body = "Big news!!! Really!!!!";
        let verdict = validate(email("Hello", body));
        assert!(matches!(verdict, Verdict::Escalate(_)), "{verdict:?}");
        let spans: Vec<(u32, u32)> = findings(&verdict)
            .iter()
            .filter_map(|f| f.location.as_ref())
            .map(|s| (s.start, s.end))
            .collect();
        assert_eq!(spans, [(8, 11), (18, 22)]);
        assert_eq!(rules(&verdict), [EXCLAMATION_RUN; 2]);
    }

    #[test]
    fn two_exclamation_marks_in_body_are_fine() {
        MockHost::new().install();
        assert!(matches!(
            validate(email("Hello", "Big news!! Really! Yes!")),
            Verdict::Allow
        ));
    }

    #[test]
    fn deny_wins_and_keeps_the_other_findings() {
        MockHost::new().install();
        let action = Action::email(
            "a-1",
            returning("c-1"),
            Purpose::Commercial,
            "Hello",
            "Guaranteed!!! by acme",
        );
        let verdict = validate(action);
        assert!(matches!(verdict, Verdict::Deny(_)));
        assert_eq!(
            rules(&verdict),
            [
                BANNED_CLAIM,
                EXCLAMATION_RUN,
                NAME_SPELLING,
                REQUIRED_DISCLOSURE
            ]
        );
    }

    #[test]
    fn actions_without_text_are_allowed() {
        MockHost::new().install();
        let action = Action::new(
            "a-1",
            ActionKind::Audience(AudienceUpdate {
                platform: "meta-ads".to_string(),
                platform_region: "EU".to_string(),
                audience_id: "aud-1".to_string(),
                operation: AudienceOperation::Add,
                contact_ids: vec!["c-1".to_string()],
                fields: Vec::new(),
                targeting: Vec::new(),
            }),
        );
        assert!(matches!(validate(action), Verdict::Allow));
    }

    #[test]
    fn helpers() {
        assert_eq!(exclamation_runs("!a!!b!!!", 2), [(2, 2), (5, 3)]);
        assert_eq!(exclamation_runs("!!!", 3), [(0, 3)]);
        assert!(thread_prefix("Re-engage").is_none());
        assert!(is_all_capitals("HELLO"));
        assert!(!is_all_capitals("HEY!"));
        assert!(!is_all_capitals("Hello"));
        let m: Vec<usize> = whole_word_matches("no risk, no risky bets", "no risk").collect();
        assert_eq!(m, [0]);
    }
}
