//! Detectors for personal data in text: email addresses, IBANs, payment
//! card numbers and phone numbers. All work on bytes and report byte
//! offsets into the text as given; the patterns are ASCII, and any
//! non-ASCII character counts as a boundary.

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
/// and the last four.
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

/// Every piece of personal data in `text` not allowed by `allow`, in
/// reading order. Hits never overlap: email addresses take precedence over
/// IBANs, IBANs over card numbers, card numbers over phone numbers.
pub(crate) fn scan(text: &str, allow: &Allow) -> Vec<Pii> {
    let mut hits: Vec<Pii> = Vec::new();
    let mut add = |found: Vec<(usize, usize)>, kind: PiiKind| {
        for (start, end) in found {
            if !hits.iter().any(|h| start < h.end && h.start < end) {
                hits.push(Pii { kind, start, end });
            }
        }
    };
    // Allowed addresses still claim their span, so no phone number is
    // found inside `news+4915112345678@acme.example`.
    add(emails(text), PiiKind::Email);
    add(ibans(text), PiiKind::Iban);
    add(cards(text), PiiKind::Card);
    add(phones(text), PiiKind::Phone);
    hits.retain(|h| {
        let found = &text[h.start..h.end];
        match h.kind {
            PiiKind::Email => !allow.email(found),
            PiiKind::Phone => !allow.phone(found),
            PiiKind::Iban | PiiKind::Card => true,
        }
    });
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
// IBANs

/// Spans of IBANs: `CCkk` then the account number, compact or in groups
/// separated by single spaces, 15–34 characters, mod-97 valid.
fn ibans(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let upper_or_digit = |c: u8| c.is_ascii_uppercase() || c.is_ascii_digit();
    let mut found = Vec::new();
    let mut i = 0;
    while i + 4 <= b.len() {
        let starts = (i == 0 || !b[i - 1].is_ascii_alphanumeric())
            && b[i].is_ascii_uppercase()
            && b[i + 1].is_ascii_uppercase()
            && b[i + 2].is_ascii_digit()
            && b[i + 3].is_ascii_digit();
        if !starts {
            i += 1;
            continue;
        }
        // The end of every group: candidates, longest first.
        let mut ends = Vec::new();
        let mut pos = i;
        loop {
            while pos < b.len() && upper_or_digit(b[pos]) {
                pos += 1;
            }
            ends.push(pos);
            if pos + 1 < b.len() && b[pos] == b' ' && upper_or_digit(b[pos + 1]) {
                pos += 1;
            } else {
                break;
            }
        }
        let hit = ends.iter().rev().copied().find(|&end| {
            let compact: String = text[i..end].chars().filter(|c| *c != ' ').collect();
            let bounded = end == b.len() || !b[end].is_ascii_alphanumeric();
            bounded && (15..=34).contains(&compact.len()) && mod97_valid(&compact)
        });
        match hit {
            Some(end) => {
                found.push((i, end));
                i = end;
            }
            None => i += 1,
        }
    }
    found
}

/// True when `iban` (compact: capital letters and digits) passes the ISO
/// 7064 mod-97 check: the first four characters moved to the end, letters
/// as 10..35, the number modulo 97 is 1.
pub fn mod97_valid(iban: &str) -> bool {
    if iban.len() < 5
        || !iban
            .bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return false;
    }
    let (head, tail) = iban.split_at(4);
    let mut rem: u32 = 0;
    for c in tail.bytes().chain(head.bytes()) {
        rem = if c.is_ascii_digit() {
            (rem * 10 + u32::from(c - b'0')) % 97
        } else {
            (rem * 100 + u32::from(c - b'A') + 10) % 97
        };
    }
    rem == 1
}

// ---------------------------------------------------------------------------
// Digit runs (card and phone numbers)

/// A run of digit groups: `+`? then groups of digits (or `(digits)`)
/// joined by single separators.
#[derive(Debug)]
struct Run {
    start: usize,
    end: usize,
    plus: bool,
    /// The digits of each group, with whether it was in parentheses.
    groups: Vec<(String, bool)>,
    /// The separators between groups outside parentheses.
    seps: Vec<u8>,
}

impl Run {
    fn digits(&self) -> usize {
        self.groups.iter().map(|(g, _)| g.len()).sum()
    }

    fn all_digits(&self) -> String {
        self.groups.iter().map(|(g, _)| g.as_str()).collect()
    }
}

/// Parse a run at `i`: groups of digits joined by one of `seps`; with
/// `phone`, also a leading `+` and groups in parentheses.
fn parse_run(b: &[u8], i: usize, seps: &[u8], phone: bool) -> Option<Run> {
    let mut pos = i;
    let plus = phone && b.get(pos) == Some(&b'+');
    if plus {
        pos += 1;
    }
    let mut run = Run {
        start: i,
        end: pos,
        plus,
        groups: Vec::new(),
        seps: Vec::new(),
    };
    let mut pending_sep: Option<u8> = None;
    loop {
        let paren = phone && b.get(pos) == Some(&b'(');
        let digits_from = if paren { pos + 1 } else { pos };
        let mut p = digits_from;
        while p < b.len() && b[p].is_ascii_digit() {
            p += 1;
        }
        if p == digits_from || (paren && b.get(p) != Some(&b')')) {
            break;
        }
        let group = String::from_utf8_lossy(&b[digits_from..p]).into_owned();
        let after = if paren { p + 1 } else { p };
        // Separators next to a parenthesised group do not count towards
        // the format ("(555) 123-4567" is dash-separated).
        if let Some(sep) = pending_sep.take() {
            let prev_paren = run.groups.last().is_some_and(|(_, was)| *was);
            if !paren && !prev_paren {
                run.seps.push(sep);
            }
        }
        run.groups.push((group, paren));
        run.end = after;
        pos = after;
        // One separator, then another group; or, after `)`, a group
        // directly.
        match b.get(pos) {
            Some(&s) if seps.contains(&s) => {
                let next = b.get(pos + 1);
                if next.is_some_and(u8::is_ascii_digit) || (phone && next == Some(&b'(')) {
                    pending_sep = Some(s);
                    pos += 1;
                } else {
                    break;
                }
            }
            Some(c) if paren && c.is_ascii_digit() => {}
            _ => break,
        }
    }
    (!run.groups.is_empty()).then_some(run)
}

/// The character before byte `i`, if any.
fn char_before(text: &str, i: usize) -> Option<char> {
    text[..i].chars().next_back()
}

/// The character at byte `i`, if any.
fn char_at(text: &str, i: usize) -> Option<char> {
    text[i..].chars().next()
}

/// Currency symbols and codes: a number next to one is an amount.
const MONEY: &[&str] = &["€", "$", "£", "¥", "EUR", "USD", "GBP", "CHF", "CAD"];

/// True when a run may start at `i`: not inside a word, path, number,
/// order reference or amount of money.
fn run_may_start(text: &str, i: usize) -> bool {
    let b = text.as_bytes();
    // Not right after digits joined by a separator: runs start at the
    // beginning ("12 4111 ..." is one run, not two).
    if b[i].is_ascii_digit()
        && i >= 2
        && matches!(b[i - 1], b' ' | b'-' | b'.')
        && b[i - 2].is_ascii_digit()
    {
        return false;
    }
    let before = text[..i].trim_end_matches(' ');
    if MONEY.iter().any(|m| before.ends_with(m)) {
        return false;
    }
    match char_before(text, i) {
        None => true,
        Some(c) => {
            !(c.is_ascii_alphanumeric()
                || matches!(c, '_' | '/' | '#' | '.' | '-' | '+' | ',' | '@'))
        }
    }
}

/// True when a run ending at `end` is not followed by more of a word, an
/// address or an amount.
fn run_may_end(text: &str, end: usize) -> bool {
    match char_at(text, end) {
        None => true,
        Some(c) if c.is_ascii_alphanumeric() || matches!(c, '_' | '@' | '%' | '/') => false,
        Some(_) => {
            let rest = text[end..].trim_start_matches(' ');
            !MONEY.iter().any(|m| rest.starts_with(m))
        }
    }
}

/// Spans of payment card numbers: 13–19 digits in groups joined by single
/// spaces or dashes, Luhn-valid, not all zeros.
fn cards(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() || !run_may_start(text, i) {
            i += 1;
            continue;
        }
        let Some(run) = parse_run(b, i, b" -", false) else {
            i += 1;
            continue;
        };
        let digits = run.all_digits();
        if (13..=19).contains(&digits.len())
            && run_may_end(text, run.end)
            && digits.bytes().any(|d| d != b'0')
            && luhn_valid(&digits)
        {
            found.push((run.start, run.end));
        }
        i = run.end.max(i + 1);
    }
    found
}

/// True when `digits` (ASCII digits only) passes the Luhn check.
pub fn luhn_valid(digits: &str) -> bool {
    if digits.is_empty() || !digits.bytes().all(|d| d.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(d - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Spans of phone numbers (see the crate documentation for the formats).
fn phones(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let candidate = (c.is_ascii_digit() || c == b'+' || c == b'(') && run_may_start(text, i);
        let run = if candidate {
            parse_run(b, i, b" -.", true)
        } else {
            None
        };
        let Some(run) = run else {
            i += 1;
            continue;
        };
        if run_may_end(text, run.end) && is_phone(&run) && !continues_identifier(text, run.start) {
            found.push((run.start, run.end));
        }
        i = run.end.max(i + 1);
    }
    found
}

/// Labels that introduce a reference rather than a phone number.
const REFERENCE_LABELS: &[&str] = &[
    "ref",
    "reference",
    "invoice",
    "inv",
    "order",
    "no",
    "nr",
    "number",
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
];

/// True when the digits at `start` continue an identifier rather than start
/// a token of their own: the word before them is the head of an IBAN
/// (`DE12 3456 7890 12`, two letters and two check digits, whatever the
/// checksum) or a reference label (`Ref: 4471-2290-1183`, `Order no. 0412
/// 555 123`, `Invoice #…`).
fn continues_identifier(text: &str, start: usize) -> bool {
    let before = text[..start].trim_end_matches([' ', ':', '#', '.']);
    let word_start = before
        .rfind(|c: char| !(c.is_ascii_alphanumeric()))
        .map_or(0, |i| i + 1);
    let word = &before[word_start..];
    let b = word.as_bytes();
    let iban_head = b.len() == 4
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..].iter().all(u8::is_ascii_digit);
    iban_head
        || REFERENCE_LABELS
            .iter()
            .any(|label| word.eq_ignore_ascii_case(label))
}

/// True when a run is written like a phone number.
fn is_phone(run: &Run) -> bool {
    let digits = run.digits();
    let first = run.groups.first().map(|(g, paren)| (g.as_str(), *paren));
    let Some((first_digits, first_paren)) = first else {
        return false;
    };
    if run.plus {
        return (8..=16).contains(&digits);
    }
    // "0049 30 1234567": the international prefix, written out.
    if first_digits.starts_with("00")
        && first_digits.as_bytes().get(2).is_some_and(|&d| d != b'0')
        && !first_paren
    {
        return (10..=17).contains(&digits);
    }
    if !(9..=12).contains(&digits) {
        return false;
    }
    let inner_parens = run.groups.iter().skip(1).any(|(_, paren)| *paren);
    if inner_parens {
        return false;
    }
    let trunk = first_digits.starts_with('0');
    if run.groups.len() == 1 {
        return trunk;
    }
    // One kind of separator throughout: "2026-01-05 10" is a date and a time.
    let Some(&sep) = run.seps.first() else {
        // "(555)1234567": area code and number.
        return first_paren;
    };
    if run.seps.iter().any(|&s| s != sep) {
        return false;
    }
    if sep == b'.' {
        // Decimals and dot thousands separators: "3.1415926535",
        // "1.234.567.890".
        let thousands = first_digits.len() <= 3
            && !first_paren
            && run.groups.iter().skip(1).all(|(g, _)| g.len() == 3);
        if run.groups.len() < 3 || thousands {
            return false;
        }
    }
    run.groups.len() >= 3 || first_paren || trunk
}
