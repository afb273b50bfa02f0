//! Deceptive subject lines: phrase families (`data/deceptive-subjects.txt`)
//! with the span of the offending phrase.

use crate::text::find_word;

/// The phrase families, as shipped in the component.
pub const PHRASES: &str = include_str!("../data/deceptive-subjects.txt");

/// A deceptive claim in a subject line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    /// The family: `thread`, `account`, `payment`, `prize`, `urgency`.
    pub family: String,
    /// Byte offset in the subject.
    pub start: usize,
    /// The phrase as written in the subject.
    pub text: String,
}

struct Phrase<'a> {
    family: &'a str,
    support: bool,
    text: &'a str,
}

fn phrases() -> Result<Vec<Phrase<'static>>, String> {
    PHRASES
        .lines()
        .enumerate()
        .map(|(i, l)| (i, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .map(|(i, l)| {
            let mut parts = l.splitn(3, '|');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(family), Some(kind @ ("claim" | "support")), Some(text))
                    if !family.is_empty() && !text.trim().is_empty() =>
                {
                    Ok(Phrase {
                        family,
                        support: kind == "support",
                        text: text.trim(),
                    })
                }
                _ => Err(format!(
                    "deceptive-subjects line {}: expected `family|claim|phrase` or `family|support|phrase`",
                    i + 1
                )),
            }
        })
        .collect()
}

/// The first deceptive claim of `subject`: a thread marker on a first
/// contact, or a claim of a family whose support the body lacks.
pub fn deceptive(subject: &str, body: &str, first_contact: bool) -> Result<Option<Claim>, String> {
    let phrases = phrases()?;
    let mut best: Option<Claim> = None;
    for p in phrases.iter().filter(|p| !p.support) {
        let Some(start) = find_word(subject, p.text) else {
            continue;
        };
        let backed = if p.family == "thread" {
            !first_contact
        } else {
            phrases
                .iter()
                .filter(|s| s.support && s.family == p.family)
                .chain(
                    phrases
                        .iter()
                        .filter(|c| !c.support && c.family == p.family),
                )
                .any(|s| find_word(body, s.text).is_some())
        };
        if backed || best.as_ref().is_some_and(|b| b.start <= start) {
            continue;
        }
        best = Some(Claim {
            family: p.family.to_string(),
            start,
            text: subject[start..start + p.text.len()].to_string(),
        });
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_phrase_file_parses() {
        let p = phrases().unwrap();
        for family in ["thread", "account", "payment", "prize", "urgency"] {
            assert!(
                p.iter().any(|x| x.family == family && !x.support),
                "{family}"
            );
        }
    }

    #[test]
    fn claims_need_backing() {
        let c = deceptive("Quick question re: your demo", "Hi", true)
            .unwrap()
            .unwrap();
        assert_eq!(
            (c.family.as_str(), c.start, c.text.as_str()),
            ("thread", 15, "re:")
        );
        assert!(deceptive("RE: your demo", "Hi", false).unwrap().is_none());
        assert!(
            deceptive("Re-engage with Acme", "Hi", true)
                .unwrap()
                .is_none()
        );
        let c = deceptive("Action: account suspended", "Spring sale!", false)
            .unwrap()
            .unwrap();
        assert_eq!(c.family, "account");
        assert!(
            deceptive(
                "Payment failed",
                "Your payment of $20 for invoice 7 failed.",
                false
            )
            .unwrap()
            .is_none()
        );
        let c = deceptive("You've won a spa day", "Book a demo.", false)
            .unwrap()
            .unwrap();
        assert_eq!(c.text, "You've won");
        assert!(
            deceptive(
                "Last chance: 20% off",
                "The offer ends on Friday 6 March.",
                false
            )
            .unwrap()
            .is_none()
        );
        assert!(deceptive("Spring ideas", "Hi", true).unwrap().is_none());
    }
}
