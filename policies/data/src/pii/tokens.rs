//! Tokens: the places where an identifier may start and end.
//!
//! A text is cut into words at whitespace. A word may be wrapped in
//! punctuation that is not part of it: opening brackets and quotes before,
//! closing brackets, quotes and sentence punctuation after (`(`, `"`; `)`,
//! `.`, `,`, `:`). What is left is the word's core. A label glued to a
//! value by a colon (`Ref:4471-2290-1183`, `tel:+4915112345678`,
//! `mailto:ada@example.eu`) is two tokens, the label with its colon and the
//! value. A URL (`https://…`, `www.…`) is one token and is never split.
//!
//! A hit of a detector must start where a token (or one of its wrappers)
//! starts and end where a token (or one of its wrappers) ends: digits in
//! the middle of `INV-2026-0412-5567`, of a path or of an address start no
//! phone number.

/// Characters that may open a word without being part of it.
const OPENERS: &[char] = &['(', '[', '{', '<', '"', '\'', '«', '“', '‘', '¿', '¡'];

/// Characters that may close a word without being part of it.
const CLOSERS: &[char] = &[
    ')', ']', '}', '>', '"', '\'', '»', '”', '’', '.', ',', ';', ':', '!', '?', '…',
];

/// One token: a word's core, or a part of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    /// Byte offset where it starts.
    pub(crate) start: usize,
    /// Byte offset where it ends (exclusive).
    pub(crate) end: usize,
    /// Byte offset where the word around it ends: the bytes from `end` to
    /// here are closing punctuation (`)`, `.`, `:`); equal to `end` when
    /// the word goes on (`Ref:` then `4471`) or ends with the token.
    pub(crate) word_end: usize,
}

/// The tokens of a text, with the offsets where a hit may start and end.
#[derive(Debug)]
pub(crate) struct Tokens<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    urls: Vec<(usize, usize)>,
    starts: Vec<bool>,
    ends: Vec<bool>,
}

impl<'a> Tokens<'a> {
    /// Cut `text` into tokens.
    pub(crate) fn of(text: &'a str) -> Self {
        let mut t = Self {
            text,
            tokens: Vec::new(),
            urls: Vec::new(),
            starts: vec![false; text.len() + 1],
            ends: vec![false; text.len() + 1],
        };
        for (ws, we) in words(text) {
            t.add_word(ws, we);
        }
        t
    }

    fn add_word(&mut self, ws: usize, we: usize) {
        let text = self.text;
        let mut s = ws;
        self.starts[s] = true;
        while let Some(c) = text[s..we].chars().next().filter(|c| OPENERS.contains(c)) {
            s += c.len_utf8();
            self.starts[s] = true;
        }
        let mut e = we;
        self.ends[e] = true;
        while let Some(c) = text[s..e]
            .chars()
            .next_back()
            .filter(|c| CLOSERS.contains(c))
        {
            e -= c.len_utf8();
            self.ends[e] = true;
        }
        if s == e {
            return;
        }
        let core = &text[s..e];
        let lower = core.to_ascii_lowercase();
        if lower.contains("://") || lower.starts_with("www.") {
            self.urls.push((s, e));
            self.tokens.push(Token {
                start: s,
                end: e,
                word_end: we,
            });
            return;
        }
        match label_colon(core) {
            Some(colon) => {
                let value = s + colon + 1;
                self.ends[s + colon] = true;
                self.ends[value] = true;
                self.starts[value] = true;
                self.tokens.push(Token {
                    start: s,
                    end: s + colon,
                    word_end: value,
                });
                self.tokens.push(Token {
                    start: value,
                    end: e,
                    word_end: we,
                });
            }
            None => self.tokens.push(Token {
                start: s,
                end: e,
                word_end: we,
            }),
        }
    }

    /// The tokens, in reading order.
    pub(crate) fn tokens(&self) -> &[Token] {
        &self.tokens
    }

    /// The spans of the URLs among the tokens.
    pub(crate) fn urls(&self) -> &[(usize, usize)] {
        &self.urls
    }

    /// The text of a token.
    pub(crate) fn text_of(&self, token: &Token) -> &'a str {
        &self.text[token.start..token.end]
    }

    /// The punctuation closing a token (empty when none).
    pub(crate) fn closer_of(&self, token: &Token) -> &'a str {
        &self.text[token.end..token.word_end]
    }

    /// True when a hit may start at byte `i`.
    pub(crate) fn is_start(&self, i: usize) -> bool {
        self.starts.get(i).copied().unwrap_or(false)
    }

    /// True when a hit may end at byte `i`.
    pub(crate) fn is_end(&self, i: usize) -> bool {
        self.ends.get(i).copied().unwrap_or(false)
    }

    /// True when `start..end` starts and ends on token boundaries.
    pub(crate) fn bounds(&self, start: usize, end: usize) -> bool {
        start < end && self.is_start(start) && self.is_end(end)
    }
}

/// The spans of the maximal runs of non-whitespace characters.
fn words(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, text.len()));
    }
    out
}

/// The offset of the colon of a label glued to its value (`Ref:4471`,
/// `tel:+49…`, `E-Mail:ada@…`): two or more letters (dashes allowed after
/// the first), a colon, then more text.
fn label_colon(core: &str) -> Option<usize> {
    let colon = core.find(':')?;
    let label = &core[..colon];
    let letters = label.bytes().filter(u8::is_ascii_alphabetic).count();
    let is_label = letters >= 2
        && label
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic())
        && label.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-');
    (is_label && colon + 1 < core.len()).then_some(colon)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str) -> Vec<&str> {
        let t = Tokens::of(text);
        t.tokens().iter().map(|k| t.text_of(k)).collect()
    }

    #[test]
    fn words_lose_their_wrappers_and_labels_split() {
        assert_eq!(
            texts("(Call 555-123-4567.) Ref:4471-2290-1183, «tel:+4915112345678»"),
            [
                "Call",
                "555-123-4567",
                "Ref",
                "4471-2290-1183",
                "tel",
                "+4915112345678"
            ]
        );
        assert_eq!(
            texts("INV-2026-0412-5567 12:30"),
            ["INV-2026-0412-5567", "12:30"]
        );
        let t = Tokens::of("See https://acme.example/t?n=555-123-4567.");
        assert_eq!(t.urls().len(), 1);
        assert_eq!(
            texts("See https://acme.example/t?n=555-123-4567."),
            ["See", "https://acme.example/t?n=555-123-4567"]
        );
    }

    #[test]
    fn boundaries() {
        let text = "(555) INV-2026 Grüße";
        let t = Tokens::of(text);
        assert!(t.is_start(0) && t.is_start(1) && t.is_end(5) && t.is_end(4));
        let inv = text.find("2026").unwrap_or(0);
        assert!(!t.is_start(inv));
        assert!(t.is_end(inv + 4));
        assert!(t.is_end(text.len()));
        assert!(!t.is_start(text.len() + 5));
    }
}
