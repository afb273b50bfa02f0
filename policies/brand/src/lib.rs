//! The `brand` policy pack: what Acme's messages may say and how they look.
//!
//! The pack reads the human-readable text of an action (email subject and
//! body, SMS body, ad copy; see [`Action::texts`]) and applies five rules:
//!
//! | rule | severity | citation | verdict | checks |
//! |---|---|---|---|---|
//! | [`BANNED_CLAIM`] (`brand.banned-claim`) | high | none (house rule) | deny | banned or risky claims ("guaranteed", "risk-free", "miracle", ...) in any text |
//! | [`REQUIRED_DISCLOSURE`] (`brand.required-disclosure`) | medium | none (house rule) | modify | a commercial email of this pack's brand carries the brand's disclosure; appends it when missing |
//! | [`SUBJECT_LINE`] (`brand.subject-line`) | medium | none (house rule) | deny | an email subject is not empty, at most 78 characters, not all capitals, has no `!!`, and does not fake a thread (`RE:`, `FW:`, `FWD:`) on a first contact |
//! | [`NAME_SPELLING`] (`brand.name-spelling`) | low | none (house rule) | modify | the brand name is written in its canonical case ("ACME" becomes "Acme") |
//! | [`EXCLAMATION_RUN`] (`brand.exclamation-run`) | low | none (house rule) | escalate | no run of three or more `!` in a body |
//!
//! # Citations and fixes
//!
//! The brand rules are the brand team's house rules, not statutes: their
//! rule descriptions (`describe`, `pack.toml`) and findings carry no
//! `citation`. Where the law asks for something similar (a deceptive
//! `RE:` subject under 15 U.S.C. 7704(a)(2), an advertisement's
//! identification), the `legal` pack judges it and cites the statute; this
//! pack does not claim to apply the law. Every finding of a modification
//! says what it changed (`fix`): the disclosure appended and the profile
//! it came from, or the spelling replaced.
//!
//! # The disclosure binds to the brand
//!
//! The pack is configured for one brand (`brand-name`). A commercial email
//! gets a disclosure only when its sender, as the host stamped it from the
//! sender profile, speaks for that brand (`sender.brand`, any case):
//! another brand's email is not this pack's to change, whatever its body
//! says. The text is the sender profile's first `disclosures` entry; a
//! stamped profile without one asks for none. Only an unstamped sender
//! (an offline check of a bare action, whose `profile` is empty) is taken
//! as the pack's own brand and gets the configured `disclosure`.
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
//! - `brand-name`: the brand this pack speaks for: the canonical spelling
//!   of its name, and the `sender.brand` whose emails get the disclosure
//!   (default [`DEFAULT_BRAND_NAME`]); an empty value disables the spelling
//!   rule and leaves only unstamped senders to the disclosure rule.
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
                "Commercial emails of this brand carry their sender profile's disclosure; it is \
                 appended when missing.",
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
    .fixed(match email.sender.profile.trim() {
        "" => format!("appended the configured disclosure: \"{disclosure}\""),
        profile => {
            format!("appended the disclosure of sender profile `{profile}`: \"{disclosure}\"")
        }
    });
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
mod tests;
