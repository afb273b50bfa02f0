//! The simulated world of the demo: a synthetic CRM whose leads arrive day
//! by day, and recipients who answer emails with replies, meetings and
//! unsubscribes under a known true effect.

use super::{ACTIVITY_EFFECT, PARTITION};
use crate::{Evidence, Field};

/// Draws for the simulation, all from one seeded generator.
pub(super) struct Rng(pub(super) gatehouse_gates::rng::Rng);

impl Rng {
    pub(super) fn unit(&mut self) -> f64 {
        self.0.unit()
    }
    pub(super) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.0.next_u64() % items.len() as u64) as usize]
    }
}

/// The synthetic CRM: leads arriving day by day.
pub(super) fn leads(rng: &mut Rng, day: u32, n: u32) -> Vec<Evidence> {
    const FIRST: [&str; 12] = [
        "Greta", "Luca", "Sofie", "Pierre", "Ines", "Jonas", "Maja", "Elif", "Tomas", "Nora",
        "Pablo", "Anouk",
    ];
    const COMPANY: [&str; 10] = [
        "Vogel", "Bianchi", "Jansen", "Martin", "Novak", "Larsen", "Costa", "Weber", "Moreau",
        "Silva",
    ];
    const ACTIVITY: [&str; 4] = [
        "downloaded the campaign planning guide",
        "joined our webinar on lead scoring",
        "compared our pricing plans",
        "read the case study on email timing",
    ];
    const COUNTRY: [(&str, &str); 6] = [
        ("DE", "Europe/Berlin"),
        ("FR", "Europe/Paris"),
        ("NL", "Europe/Amsterdam"),
        ("IT", "Europe/Rome"),
        ("ES", "Europe/Madrid"),
        ("SE", "Europe/Stockholm"),
    ];
    (0..n)
        .map(|i| {
            let segment = match rng.unit() {
                x if x < 0.55 => "smb",
                x if x < 0.85 => "mid-market",
                _ => "enterprise",
            };
            let consent = if rng.unit() < 0.9 {
                "express"
            } else {
                "withdrawn"
            };
            let first = rng.pick(&FIRST);
            let company = format!(
                "{} {}",
                rng.pick(&COMPANY),
                ["GmbH", "SA", "BV", "AB"][i as usize % 4]
            );
            let mut fields = vec![
                ("first_name", first.to_string()),
                ("company", company),
                ("segment", segment.to_string()),
            ];
            let (country, zone) = rng.pick(&COUNTRY);
            fields.extend([
                ("country", country.to_string()),
                ("time_zone", zone.to_string()),
                ("consent_email", consent.to_string()),
                ("consent_email_purposes", "commercial".to_string()),
                (
                    "consent_email_obtained_at",
                    "2025-11-03T09:00:00Z".to_string(),
                ),
                ("consent_email_evidence", format!("form-{day:02}{i:04}")),
                ("email", format!("lead{day:02}{i:04}@example.eu")),
            ]);
            if rng.unit() < 0.7 {
                fields.push(("last_activity", rng.pick(&ACTIVITY).to_string()));
            }
            Evidence {
                id: format!("c-{day:02}-{i:04}"),
                collection: "contacts".to_string(),
                partition: PARTITION.to_string(),
                fields: fields
                    .into_iter()
                    .map(|(name, value)| Field {
                        name: name.to_string(),
                        value,
                    })
                    .collect(),
            }
        })
        .collect()
}

/// The world's answer to one email that went out: replies, meetings,
/// unsubscribes and pipeline. The true model: a base meeting rate per
/// segment, multiplied by [`ACTIVITY_EFFECT`] when the email names the
/// contact's own last activity.
pub(super) fn respond(
    rng: &mut Rng,
    contact: &Evidence,
    body: &str,
    action: &str,
) -> Vec<crate::audit::ActionOutcome> {
    let segment = contact.get("segment").unwrap_or("smb");
    let (base, deal) = match segment {
        "enterprise" => (0.08, 60_000.0),
        "mid-market" => (0.10, 18_000.0),
        _ => (0.12, 6_000.0),
    };
    let personal = contact
        .get("last_activity")
        .is_some_and(|a| body.contains(a));
    let p_meeting = base * if personal { ACTIVITY_EFFECT } else { 1.0 };
    let mut out = Vec::new();
    let outcome = |kind: &str, value: serde_json::Value| crate::audit::ActionOutcome {
        action: action.to_string(),
        kind: kind.to_string(),
        value,
    };
    let u = rng.unit();
    if u < p_meeting {
        out.push(outcome("reply", 1.into()));
        out.push(outcome("meeting_booked", 1.into()));
        let value = (deal * (0.5 + rng.unit())).round();
        out.push(outcome("pipeline", value.into()));
    } else if u < p_meeting + 0.06 {
        out.push(outcome("reply", 1.into()));
    } else if u < p_meeting + 0.08 {
        out.push(outcome("unsubscribe", 1.into()));
    }
    out
}

pub(super) fn performed_email(a: &crate::Action) -> Option<&str> {
    match &a.kind {
        crate::ActionKind::Email(e) => Some(e.body.as_str()),
        _ => None,
    }
}
