//! Number detectors: IBANs, payment card numbers and phone numbers, each
//! with its checksum or format, and never starting or ending inside a
//! token (see [`Tokens`]).

use super::tokens::Tokens;

// ---------------------------------------------------------------------------
// IBANs

/// What the IBAN detector found.
#[derive(Debug, Default)]
pub(crate) struct Ibans {
    /// IBANs passing the mod-97 check.
    pub(crate) valid: Vec<(usize, usize)>,
    /// Account numbers written like an IBAN (country code, check digits,
    /// groups) that fail the check: not personal data by this pack's
    /// measure, but an identifier no other detector may look inside.
    pub(crate) shaped: Vec<(usize, usize)>,
}

/// IBANs: `CCkk` then the account number, compact or in groups separated
/// by single spaces, 15–34 characters, mod-97 valid.
pub(crate) fn ibans(text: &str, tokens: &Tokens<'_>) -> Ibans {
    let b = text.as_bytes();
    let upper_or_digit = |c: u8| c.is_ascii_uppercase() || c.is_ascii_digit();
    let mut found = Ibans::default();
    for i in 0..b.len().saturating_sub(3) {
        let head = tokens.is_start(i)
            && b[i].is_ascii_uppercase()
            && b[i + 1].is_ascii_uppercase()
            && b[i + 2].is_ascii_digit()
            && b[i + 3].is_ascii_digit();
        if !head {
            continue;
        }
        // The end of every group, in order.
        let mut ends = Vec::new();
        let mut pos = i;
        loop {
            let from = pos;
            while pos < b.len() && upper_or_digit(b[pos]) {
                pos += 1;
            }
            ends.push((from, pos));
            if pos + 1 < b.len() && b[pos] == b' ' && upper_or_digit(b[pos + 1]) {
                pos += 1;
            } else {
                break;
            }
        }
        let compact =
            |end: usize| -> String { text[i..end].chars().filter(|c| *c != ' ').collect() };
        let valid = ends.iter().rev().map(|&(_, end)| end).find(|&end| {
            let c = compact(end);
            tokens.is_end(end) && (15..=34).contains(&c.len()) && mod97_valid(&c)
        });
        if let Some(end) = valid {
            found.valid.push((i, end));
            continue;
        }
        // Written like an IBAN: the head and groups of at most four
        // characters (the last one with a digit), or one compact token.
        let mut shaped_end = None;
        for (n, &(from, end)) in ends.iter().enumerate() {
            let group = &text[from..end];
            let fits = if n == 0 {
                group.len() >= 4
            } else {
                group.len() == 4 || (group.len() < 4 && group.bytes().any(|c| c.is_ascii_digit()))
            };
            if !fits || (n > 0 && ends[0].1 - ends[0].0 > 4) {
                break;
            }
            if tokens.is_end(end) {
                shaped_end = Some(end);
            }
        }
        if let Some(end) = shaped_end.filter(|&end| compact(end).len() >= 12) {
            found.shaped.push((i, end));
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

/// One group of digits in a run.
#[derive(Debug)]
struct Group {
    /// The digits.
    digits: String,
    /// Whether it was written in parentheses (`(555)`).
    paren: bool,
    /// The separator before it, unless it is the first group or a group
    /// next to parentheses (`(555) 123-4567` is dash-separated).
    sep: Option<u8>,
    /// Byte offset where it ends (after any `)`).
    end: usize,
}

/// A run of digit groups: `+`? then groups of digits (or `(digits)`)
/// joined by single separators.
#[derive(Debug)]
struct Run {
    plus: bool,
    groups: Vec<Group>,
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
        plus,
        groups: Vec::new(),
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
        let after = if paren { p + 1 } else { p };
        let prev_paren = run.groups.last().is_some_and(|g| g.paren);
        let sep = pending_sep.take().filter(|_| !paren && !prev_paren);
        run.groups.push(Group {
            digits: String::from_utf8_lossy(&b[digits_from..p]).into_owned(),
            paren,
            sep,
            end: after,
        });
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

/// Currency symbols and codes: a number next to one is an amount.
const MONEY: &[&str] = &["€", "$", "£", "¥", "EUR", "USD", "GBP", "CHF", "CAD"];

/// True when a run may start at `i`: on a token boundary, not right after
/// digits joined to it by a separator (`12 4111 …` is one run), and not
/// after a currency.
fn run_may_start(text: &str, tokens: &Tokens<'_>, i: usize) -> bool {
    let b = text.as_bytes();
    if !tokens.is_start(i) {
        return false;
    }
    if b[i].is_ascii_digit()
        && i >= 2
        && matches!(b[i - 1], b' ' | b'-' | b'.')
        && b[i - 2].is_ascii_digit()
    {
        return false;
    }
    let before = text[..i].trim_end_matches(' ');
    !MONEY.iter().any(|m| before.ends_with(m))
}

/// True when a run may end at `end`: on a token boundary and not before a
/// currency.
fn run_may_end(text: &str, tokens: &Tokens<'_>, end: usize) -> bool {
    let rest = text[end..].trim_start_matches(' ');
    tokens.is_end(end) && !MONEY.iter().any(|m| rest.starts_with(m))
}

/// Every run starting on a token boundary, cut to the longest prefix of
/// whole groups that ends on a token boundary and that `accept` takes. A
/// run is only cut before a group that does not end a token (`10` of
/// `555-123-4567 10:00`): `0000 0000 0000 0000` is one number, not a
/// shorter one and some digits.
fn runs(
    text: &str,
    tokens: &Tokens<'_>,
    seps: &[u8],
    phone: bool,
    accept: impl Fn(bool, &[Group]) -> bool,
) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut found = Vec::new();
    for i in 0..b.len() {
        let c = b[i];
        let first = c.is_ascii_digit() || (phone && matches!(c, b'+' | b'('));
        if !first || !run_may_start(text, tokens, i) {
            continue;
        }
        let Some(run) = parse_run(b, i, seps, phone) else {
            continue;
        };
        let n = run.groups.len();
        let hit = (1..=n).rev().find_map(|k| {
            let groups = &run.groups[..k];
            let end = groups.last().map_or(i, |g| g.end);
            let cut_ok = run
                .groups
                .get(k)
                .is_none_or(|next| !tokens.is_end(next.end));
            (cut_ok && run_may_end(text, tokens, end) && accept(run.plus, groups))
                .then_some((i, end))
        });
        found.extend(hit);
    }
    found
}

/// Payment card numbers: 13–19 digits in groups joined by single spaces
/// or dashes, Luhn-valid, not all zeros.
pub(crate) fn cards(text: &str, tokens: &Tokens<'_>) -> Vec<(usize, usize)> {
    runs(text, tokens, b" -", false, |_, groups| {
        let digits: String = groups.iter().map(|g| g.digits.as_str()).collect();
        (13..=19).contains(&digits.len())
            && digits.bytes().any(|d| d != b'0')
            && luhn_valid(&digits)
    })
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

/// Phone numbers (see the crate documentation for the formats).
pub(crate) fn phones(text: &str, tokens: &Tokens<'_>) -> Vec<(usize, usize)> {
    runs(text, tokens, b" -.", true, is_phone)
}

/// True when groups of digits are written like a phone number.
fn is_phone(plus: bool, groups: &[Group]) -> bool {
    let digits: usize = groups.iter().map(|g| g.digits.len()).sum();
    let Some(first) = groups.first() else {
        return false;
    };
    if plus {
        return (8..=16).contains(&digits);
    }
    // "0049 30 1234567": the international prefix, written out.
    if first.digits.starts_with("00")
        && first.digits.as_bytes().get(2).is_some_and(|&d| d != b'0')
        && !first.paren
    {
        return (10..=17).contains(&digits);
    }
    if !(9..=12).contains(&digits) || groups.iter().skip(1).any(|g| g.paren) {
        return false;
    }
    let trunk = first.digits.starts_with('0');
    if groups.len() == 1 {
        return trunk;
    }
    let seps: Vec<u8> = groups.iter().filter_map(|g| g.sep).collect();
    // "(555)1234567": area code and number.
    let Some(&sep) = seps.first() else {
        return first.paren;
    };
    // One kind of separator throughout: "2026-01-05 10" is a date and a time.
    if seps.iter().any(|&s| s != sep) {
        return false;
    }
    if sep == b'.' {
        // Decimals and dot thousands separators: "3.1415926535",
        // "1.234.567.890".
        let thousands = first.digits.len() <= 3
            && !first.paren
            && groups.iter().skip(1).all(|g| g.digits.len() == 3);
        if groups.len() < 3 || thousands {
            return false;
        }
    }
    groups.len() >= 3 || first.paren || trunk
}
