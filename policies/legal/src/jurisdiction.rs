//! Which regimes apply to a message: the recipient's country's row of the
//! jurisdiction table (`data/jurisdictions.csv`), plus the regimes the
//! sender profile adds. The table is data, read at run time, so a legal
//! team adds a country by adding a row.

/// The table, as shipped in the component.
pub const TABLE: &str = include_str!("../data/jurisdictions.csv");

/// The regimes this pack implements.
pub const REGIMES: &[&str] = &[
    "can-spam", "tcpa", "casl", "gdpr", "eprivacy", "ucpd", "uk-gdpr", "pecr", "uk-cpr",
];

/// The table's rows: country and its regimes, in file order. A malformed
/// line is an error that names it.
pub fn rows(table: &str) -> Result<Vec<(String, Vec<String>)>, String> {
    let mut rows = Vec::new();
    let mut header = false;
    for (i, line) in table.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !header {
            if line != "country,regimes" {
                return Err(format!(
                    "line {}: expected the header `country,regimes`",
                    i + 1
                ));
            }
            header = true;
            continue;
        }
        let Some((country, regimes)) = line.split_once(',') else {
            return Err(format!("line {}: expected `country,regimes`", i + 1));
        };
        let country = country.trim();
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(format!(
                "line {}: `{country}` is not an ISO 3166-1 alpha-2 code",
                i + 1
            ));
        }
        let regimes: Vec<String> = regimes
            .split(';')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_string)
            .collect();
        if let Some(unknown) = regimes.iter().find(|r| !REGIMES.contains(&r.as_str())) {
            return Err(format!("line {}: unknown regime `{unknown}`", i + 1));
        }
        if rows.iter().any(|(c, _)| c == country) {
            return Err(format!(
                "line {}: country `{country}` is listed twice",
                i + 1
            ));
        }
        rows.push((country.to_string(), regimes));
    }
    Ok(rows)
}

/// The regimes for a recipient in `country` from a sender that adds
/// `sender_regimes`, without duplicates, in table order then the sender's.
pub fn regimes_for(country: &str, sender_regimes: &[String]) -> Result<Vec<String>, String> {
    let rows = rows(TABLE)?;
    let country = country.trim().to_ascii_uppercase();
    let mut out: Vec<String> = rows
        .into_iter()
        .find(|(c, _)| *c == country)
        .map(|(_, r)| r)
        .unwrap_or_default();
    for r in sender_regimes {
        let r = r.trim().to_ascii_lowercase();
        if !REGIMES.contains(&r.as_str()) {
            return Err(format!(
                "the sender profile adds the regime `{r}`, which this pack does not implement \
                 (it knows {})",
                REGIMES.join(", ")
            ));
        }
        if !out.contains(&r) {
            out.push(r);
        }
    }
    Ok(out)
}
