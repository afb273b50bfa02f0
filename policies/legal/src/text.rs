//! Text helpers: words, addresses, unsubscribe mechanisms, appended
//! paragraphs.

/// Byte offset of the first whole-word, ASCII-case-insensitive occurrence
/// of `word` in `text`. A boundary is only required on a side where `word`
/// itself starts or ends with a word character ("STOP" does not match in
/// "nonstop"; "re:" matches in "[re: pricing]").
pub fn find_word(text: &str, word: &str) -> Option<usize> {
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
        let left_ok = !needs_left || !before.is_some_and(|c| is_word_char(c) || c == '-');
        let right_ok = !needs_right || !after.is_some_and(is_word_char);
        left_ok && right_ok
    })
}

/// True when `needle` occurs in `haystack` as whole words, whatever the
/// case (ASCII) and the whitespace between its words.
pub fn contains_words(haystack: &str, needle: &str) -> bool {
    let needle = collapse_whitespace(needle);
    needle.is_empty() || find_word(&collapse_whitespace(haystack), &needle).is_some()
}

/// The words of `text` joined by single spaces.
pub fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// True when `address` looks like a deliverable email address.
pub fn is_plausible_email(address: &str) -> bool {
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
    local_ok && is_domain(domain)
}

/// A dotted domain of letters, digits and hyphens with a letter-only
/// top-level domain (so no IP literal and no `localhost`).
fn is_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()))
}

/// What is wrong with an unsubscribe mechanism, if anything. A working one
/// is an `https://` link to a real host name, or a `mailto:` with a valid
/// address.
pub fn unsubscribe_problem(mechanism: Option<&str>) -> Option<String> {
    let Some(m) = mechanism.map(str::trim).filter(|m| !m.is_empty()) else {
        return Some("carries no unsubscribe mechanism".to_string());
    };
    if m.chars().any(char::is_whitespace) {
        return Some(format!(
            "has an unsubscribe mechanism with spaces in it (\"{m}\")"
        ));
    }
    let lower = m.to_ascii_lowercase();
    if let Some(address) = lower.strip_prefix("mailto:") {
        let address = address.split('?').next().unwrap_or("");
        return (!is_plausible_email(address)).then(|| {
            format!("has an unsubscribe address that is not a valid email address (\"{m}\")")
        });
    }
    if lower.starts_with("http://") {
        return Some(format!(
            "has an unsubscribe link that is not secure (\"{m}\"): it must be https"
        ));
    }
    let Some(rest) = lower.strip_prefix("https://") else {
        return Some(format!(
            "has an unsubscribe mechanism that is neither an https link nor a mailto address (\"{m}\")"
        ));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let host = host.split(':').next().unwrap_or("");
    (!is_domain(host)).then(|| {
        format!("has an unsubscribe link whose host \"{host}\" is not a public host name (\"{m}\")")
    })
}

/// The UTC calendar date of an instant (ms since the Unix epoch), as
/// `YYYY-MM-DD`: how findings name the day something happened.
pub fn utc_date(at: i64) -> String {
    let days = at.div_euclid(86_400_000);
    // Shift the epoch to 0000-03-01 so that leap days end each 400-year era.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Append `paragraph` after a blank line, unless the text already carries it.
pub fn append_once(body: &mut String, paragraph: &str) {
    if contains_words(body, paragraph) {
        return;
    }
    body.truncate(body.trim_end().len());
    if !body.is_empty() {
        body.push_str("\n\n");
    }
    body.push_str(paragraph);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsubscribe_quality() {
        assert_eq!(unsubscribe_problem(Some("https://acme.example/u/1")), None);
        assert_eq!(
            unsubscribe_problem(Some("mailto:optout@acme.example")),
            None
        );
        assert_eq!(
            unsubscribe_problem(Some("mailto:optout@acme.example?subject=unsubscribe")),
            None
        );
        for bad in [
            "",
            "http://acme.example/u",
            "https://localhost/u",
            "https://192.168.1.4/u",
            "mailto:nobody",
            "acme.example/u",
            "https://acme .example",
        ] {
            assert!(unsubscribe_problem(Some(bad)).is_some(), "{bad}");
        }
        assert!(unsubscribe_problem(None).is_some());
    }

    #[test]
    fn dates() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(-1), "1969-12-31");
        assert_eq!(utc_date(1_764_547_200_000), "2025-12-01");
        assert_eq!(utc_date(1_709_164_800_000), "2024-02-29");
        assert_eq!(utc_date(951_782_400_000), "2000-02-29");
        assert_eq!(utc_date(1_830_297_599_999), "2027-12-31");
    }

    #[test]
    fn words() {
        assert_eq!(find_word("Reply STOP to end", "stop"), Some(6));
        assert_eq!(find_word("nonstop", "stop"), None);
        assert_eq!(find_word("Quick question re: your demo", "re:"), Some(15));
        assert_eq!(find_word("Re-engage: spring", "re:"), None);
        assert_eq!(find_word("more: spring", "re:"), None);
        let mut body = "Hi.".to_string();
        append_once(&mut body, "Acme Inc., 100 Main St");
        append_once(&mut body, "Acme Inc., 100 Main St");
        assert_eq!(body, "Hi.\n\nAcme Inc., 100 Main St");
    }
}
