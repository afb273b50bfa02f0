//! Checks on user input shared by every area: names, versions, actors and
//! reasons. Each check returns an [`InputError`] whose message is one line.

use semver::Version;
use serde::Serialize;

/// The longest name (artifact, channel, team, agent, partition) accepted.
pub const MAX_NAME_LEN: usize = 64;

/// A piece of user input was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} `{value}`: {reason}")]
pub struct InputError {
    /// What the input was meant to be (`artifact name`, `version`, `actor`, ...).
    pub what: &'static str,
    /// The input as given, escaped to one line and shortened if very long.
    pub value: String,
    /// Why it was refused.
    pub reason: String,
}

impl InputError {
    pub(crate) fn new(what: &'static str, value: &str, reason: impl Into<String>) -> Self {
        Self {
            what,
            value: one_line(value),
            reason: reason.into(),
        }
    }
}

/// Escape control characters and cut very long input so that an error
/// message quoting it stays one readable line.
fn one_line(value: &str) -> String {
    const MAX: usize = 80;
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        if c.is_control() {
            escaped.extend(c.escape_default());
        } else {
            escaped.push(c);
        }
    }
    if escaped.chars().count() <= MAX {
        escaped
    } else {
        let mut cut: String = escaped.chars().take(MAX).collect();
        cut.push('…');
        cut
    }
}

const NAME_RULE: &str =
    "use 1–64 lowercase letters, digits, `-` and `.`, starting with a letter or digit";

/// A name: artifact, team, agent or partition. Lowercase ASCII letters,
/// digits, `-` and `.`, 1–64 characters.
///
/// Beyond that character set, a name must start with a letter or a
/// digit: that keeps `.`/`..` and option-looking names (`-x`) out of paths
/// and command lines.
pub(crate) fn check_name(what: &'static str, value: &str) -> Result<(), InputError> {
    let bad = || InputError::new(what, value, NAME_RULE);
    if value.is_empty() || value.len() > MAX_NAME_LEN {
        return Err(bad());
    }
    let mut bytes = value.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let rest_ok =
        bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if first_ok && rest_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

/// A channel name: a name that starts with a letter, so that
/// `name@production` can never be mistaken for `name@1.2.0`.
pub(crate) fn check_channel(value: &str) -> Result<(), InputError> {
    check_name("channel", value)?;
    if value.bytes().next().is_some_and(|b| b.is_ascii_lowercase()) {
        Ok(())
    } else {
        Err(InputError::new(
            "channel",
            value,
            "a channel name starts with a lowercase letter (so it cannot be mistaken for a version)",
        ))
    }
}

/// A semantic version without build metadata.
///
/// Build metadata (`1.2.0+abc`) is refused: two versions that differ only in
/// build metadata have the same precedence under semver, so downgrade
/// protection could not order them, and the blake3 already names the build.
pub(crate) fn parse_version(value: &str) -> Result<Version, InputError> {
    let version =
        Version::parse(value).map_err(|e| InputError::new("version", value, e.to_string()))?;
    if !version.build.is_empty() {
        return Err(InputError::new(
            "version",
            value,
            "build metadata (`+…`) is not allowed: the blake3 already identifies the build",
        ));
    }
    Ok(version)
}

/// Free text naming a person or system (publisher, actor, key owner): not
/// blank, one line, at most 200 characters.
pub(crate) fn check_who(what: &'static str, value: &str) -> Result<(), InputError> {
    if value.trim().is_empty() {
        return Err(InputError::new(what, value, "must not be empty"));
    }
    if value.chars().count() > 200 || value.chars().any(char::is_control) {
        return Err(InputError::new(
            what,
            value,
            "use one line of at most 200 characters",
        ));
    }
    Ok(())
}

/// Who moves something, why, and when: recorded with every channel move,
/// key revocation and trust-policy change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Change<'a> {
    /// Who asks for the change (a person or a system); one line, not blank.
    pub actor: &'a str,
    /// Why; not blank (an auditor reads it later).
    pub reason: &'a str,
    /// When, in milliseconds since the Unix epoch, as the caller's clock says.
    /// The store never reads a clock itself, so tests are deterministic.
    pub at_ms: i64,
}

impl<'a> Change<'a> {
    /// A change by `actor` for `reason` at `at_ms`.
    pub fn new(actor: &'a str, reason: &'a str, at_ms: i64) -> Self {
        Self {
            actor,
            reason,
            at_ms,
        }
    }

    pub(crate) fn check(&self) -> Result<(), InputError> {
        check_who("actor", self.actor)?;
        if self.reason.trim().is_empty() {
            return Err(InputError::new("reason", self.reason, "must not be empty"));
        }
        Ok(())
    }
}
