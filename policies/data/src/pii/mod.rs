//! Detectors for personal data in text: email addresses, IBANs, payment
//! card numbers and phone numbers. All work on bytes and report byte
//! offsets into the text as given; the patterns are ASCII.
//!
//! Every detector proposes hits that start and end on token boundaries
//! (see the `tokens` module); so do the identifiers that are not personal
//! data but that no detector may look inside: URLs, labelled references
//! (`Ref: 4471-2290-1183`, `Invoice #555-123-4567`) and account numbers
//! written like an IBAN that fail its check. The candidates are then taken
//! longest first (on equal spans: URL, email address, IBAN, card number,
//! reference, phone number), and a candidate overlapping one already taken
//! is dropped. So a phone number never fires inside an IBAN, a reference,
//! a URL or an email address.

mod numbers;
mod tokens;

pub use numbers::{luhn_valid, mod97_valid};
use tokens::Tokens;

/// What kind of personal data a hit is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PiiKind {
    /// An email address.
    Email,
    /// An IBAN (checked with mod-97).
    Iban,
    /// A payment card number (checked with Luhn).
    Card,
    /// A phone number.
    Phone,
}

impl PiiKind {
    /// The kind, as a marketer reads it in a finding.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Email => "an email address",
            Self::Iban => "a bank account number (IBAN)",
            Self::Card => "a payment card number",
            Self::Phone => "a phone number",
        }
    }

    /// True for financial data, which the pack masks rather than denies.
    pub fn is_financial(self) -> bool {
        matches!(self, Self::Iban | Self::Card)
    }
}

/// One piece of personal data found in a text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pii {
    /// What it is.
    pub kind: PiiKind,
    /// Byte offset where it starts.
    pub start: usize,
    /// Byte offset where it ends (exclusive).
    pub end: usize,
}

impl Pii {
    /// The text of the hit as a finding shows it: card numbers and IBANs
    /// masked (same length, so the offsets still hold), the rest verbatim.
    pub fn excerpt(&self, text: &str) -> String {
        let found = &text[self.start..self.end];
        match self.kind {
            PiiKind::Email | PiiKind::Phone => found.to_string(),
            PiiKind::Card => mask(found, 0),
            PiiKind::Iban => mask(found, 4),
        }
    }
}

/// Replace every ASCII letter and digit by `*`, except the first `keep_head`
/// and the last four. Only ASCII is replaced, by ASCII: the length in bytes
/// stays the same.
fn mask(found: &str, keep_head: usize) -> String {
    let total = found.bytes().filter(u8::is_ascii_alphanumeric).count();
    let mut seen = 0;
    found
        .chars()
        .map(|c| {
            if !c.is_ascii_alphanumeric() {
                return c;
            }
            seen += 1;
            if seen <= keep_head || seen + 4 > total {
                c
            } else {
                '*'
            }
        })
        .collect()
}

/// What is not personal data of a recipient: the sender's own addresses
/// (lowercase), the company's domains and phone numbers (digits only).
#[derive(Clone, Debug, Default)]
pub(crate) struct Allow {
    pub(crate) addresses: Vec<String>,
    pub(crate) domains: Vec<String>,
    pub(crate) phones: Vec<String>,
}

impl Allow {
    fn email(&self, address: &str) -> bool {
        let address = address.to_ascii_lowercase();
        if self.addresses.contains(&address) {
            return true;
        }
        let Some((_, domain)) = address.rsplit_once('@') else {
            return false;
        };
        self.domains.iter().any(|allowed| {
            let allowed = allowed.trim().trim_start_matches('@').to_ascii_lowercase();
            !allowed.is_empty()
                && (domain == allowed
                    || domain
                        .strip_suffix(allowed.as_str())
                        .is_some_and(|sub| sub.ends_with('.')))
        })
    }

    fn phone(&self, number: &str) -> bool {
        let digits = digits_of(number);
        self.phones.contains(&digits)
    }
}

/// The ASCII digits of `text`, in order.
pub(crate) fn digits_of(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

/// What a candidate span is. The order is the precedence on equal spans.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Claim {
    /// A URL: not personal data here, and nothing inside it is.
    Url,
    /// An email address.
    Email,
    /// A valid IBAN.
    Iban,
    /// A payment card number.
    Card,
    /// A labelled reference, or an account number written like an IBAN
    /// that fails its check: not personal data.
    Reference,
    /// A phone number.
    Phone,
}

impl Claim {
    fn pii(self) -> Option<PiiKind> {
        match self {
            Self::Email => Some(PiiKind::Email),
            Self::Iban => Some(PiiKind::Iban),
            Self::Card => Some(PiiKind::Card),
            Self::Phone => Some(PiiKind::Phone),
            Self::Url | Self::Reference => None,
        }
    }
}

/// Every piece of personal data in `text` not allowed by `allow`, in
/// reading order. Hits never overlap (see the module documentation).
pub(crate) fn scan(text: &str, allow: &Allow) -> Vec<Pii> {
    let tokens = Tokens::of(text);
    let ibans = numbers::ibans(text, &tokens);
    let mut candidates: Vec<(Claim, usize, usize)> = Vec::new();
    let mut add = |claim: Claim, spans: Vec<(usize, usize)>| {
        candidates.extend(
            spans
                .into_iter()
                .filter(|&(s, e)| tokens.bounds(s, e))
                .map(|(s, e)| (claim, s, e)),
        );
    };
    add(Claim::Url, tokens.urls().to_vec());
    add(Claim::Email, emails(text));
    add(Claim::Iban, ibans.valid);
    add(Claim::Reference, ibans.shaped);
    add(Claim::Card, numbers::cards(text, &tokens));
    add(Claim::Reference, references(&tokens));
    add(Claim::Phone, numbers::phones(text, &tokens));

    // Longest first; on equal spans, by precedence.
    candidates.sort_by_key(|&(claim, s, e)| (std::cmp::Reverse(e - s), claim, s));
    let mut taken: Vec<(Claim, usize, usize)> = Vec::new();
    for c in candidates {
        if !taken.iter().any(|&(_, s, e)| c.1 < e && s < c.2) {
            taken.push(c);
        }
    }
    // Allowed addresses and numbers still claim their span, so no phone
    // number is found inside `news+4915112345678@acme.example`.
    let mut hits: Vec<Pii> = taken
        .into_iter()
        .filter_map(|(claim, start, end)| {
            let kind = claim.pii()?;
            let found = &text[start..end];
            let allowed = match kind {
                PiiKind::Email => allow.email(found),
                PiiKind::Phone => allow.phone(found),
                PiiKind::Iban | PiiKind::Card => false,
            };
            (!allowed).then_some(Pii { kind, start, end })
        })
        .collect();
    hits.sort_by_key(|h| h.start);
    hits
}

// ---------------------------------------------------------------------------
// Email addresses

fn is_local_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn is_domain_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-')
}

/// Spans of `local@domain.tld` addresses.
fn emails(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut found = Vec::new();
    for (at, _) in text.match_indices('@') {
        let mut start = at;
        while start > 0 && is_local_byte(b[start - 1]) {
            start -= 1;
        }
        while start < at && b[start] == b'.' {
            start += 1;
        }
        let mut end = at + 1;
        while end < b.len() && is_domain_byte(b[end]) {
            end += 1;
        }
        while end > at + 1 && matches!(b[end - 1], b'.' | b'-') {
            end -= 1;
        }
        if start == at || end == at + 1 {
            continue;
        }
        let labels: Vec<&str> = text[at + 1..end].split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| !l.is_empty())
            && labels
                .last()
                .is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|c| c.is_ascii_alphabetic()));
        if domain_ok {
            found.push((start, end));
        }
    }
    found
}

// ---------------------------------------------------------------------------
// Labelled references

/// Words that introduce a reference rather than a phone number.
const REFERENCE_LABELS: &[&str] = &[
    "ref",
    "reference",
    "invoice",
    "inv",
    "order",
    "account",
    "acct",
    "customer",
    "ticket",
    "case",
    "id",
    "iban",
    "bic",
    "tracking",
    "booking",
    "policy",
    "confirmation",
    "transaction",
    "contract",
    "membership",
];

/// Words between a label and its reference (`Order no.`, `Customer ID:`).
const REFERENCE_CONNECTORS: &[&str] = &["no", "nr", "num", "number", "id", "#"];

/// Labels that are abbreviations: a dot after them ends no sentence.
const ABBREVIATIONS: &[&str] = &["ref", "inv", "acct", "no", "nr", "num"];

/// A token's text as a label: lowercased, a trailing `#` dropped.
fn label_of(text: &str) -> String {
    text.trim_end_matches('#').to_ascii_lowercase()
}

/// True when the punctuation after a label keeps it joined to what
/// follows: nothing, a colon, a `#`, or the dot of an abbreviation.
fn joins(label: &str, closer: &str) -> bool {
    match closer {
        "" | ":" | "#" | ".:" => true,
        "." => ABBREVIATIONS.contains(&label),
        _ => false,
    }
}

/// True when a token is one group of a number (`0412`, `555-123`).
fn is_number_group(text: &str) -> bool {
    text.bytes().any(|b| b.is_ascii_digit())
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'.' | b'/'))
}

/// Spans of the references that follow a label: `Ref: 4471-2290-1183`,
/// `Order no. 0412 555 123`, `Invoice #555-123-4567`. The span is the
/// reference (its first token, which needs a digit, and the number groups
/// that follow it in the same clause), not the label.
fn references(tokens: &Tokens<'_>) -> Vec<(usize, usize)> {
    let all = tokens.tokens();
    let mut found = Vec::new();
    for (i, label) in all.iter().enumerate() {
        let name = label_of(tokens.text_of(label));
        if !REFERENCE_LABELS.contains(&name.as_str()) || !joins(&name, tokens.closer_of(label)) {
            continue;
        }
        let mut j = i + 1;
        let mut joined = true;
        while let Some(t) = all.get(j) {
            let word = label_of(tokens.text_of(t));
            if !REFERENCE_CONNECTORS.contains(&word.as_str()) && !word.is_empty() {
                break;
            }
            joined = joins(&word, tokens.closer_of(t));
            j += 1;
            if !joined {
                break;
            }
        }
        let Some(first) = all.get(j).filter(|_| joined) else {
            continue;
        };
        let text = tokens.text_of(first);
        if !text.bytes().any(|b| b.is_ascii_digit()) || text.contains('@') {
            continue;
        }
        let mut end = first;
        for next in &all[j + 1..] {
            if !tokens.closer_of(end).is_empty() || !is_number_group(tokens.text_of(next)) {
                break;
            }
            end = next;
        }
        found.push((first.start, end.end));
    }
    found
}
