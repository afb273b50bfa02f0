# The brand-safety rules (bench/brand-safety/data/RULES.md) in Rego.
# data.banned: the banned terms (lowercase); input: one flat record.
package brand_safety

import rego.v1

default banned_term := false

banned_term if {
	some t in data.banned
	contains(lower(input.subject), t)
}

banned_term if {
	some t in data.banned
	contains(lower(input.body), t)
}

default missing_unsubscribe := false

missing_unsubscribe if {
	input.channel == "email"
	not input.has_unsubscribe_link
}

default no_consent_eu := false

no_consent_eu if {
	input.region == "EU"
	not input.consent
}

default evidence_required := false

evidence_required if {
	input.audience_size > 10000
	count(input.evidence) == 0
}

fired := [id |
	some check in [
		["banned-term", banned_term],
		["missing-unsubscribe", missing_unsubscribe],
		["no-consent-eu", no_consent_eu],
	]
	check[1] == true
	id := check[0]
]

default verdict := {"verdict": "allow", "rules": []}

verdict := {"verdict": "deny", "rules": fired} if count(fired) > 0

verdict := {"verdict": "escalate", "rules": ["evidence-required"]} if {
	count(fired) == 0
	evidence_required
}
