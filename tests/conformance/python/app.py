"""The `claims` pack in Python: the conformance suite's rule set. The same
rules live in ../rust/src/lib.rs and ../js/app.js; ../README.md is their
specification and ../cases.json the cases all three must pass with
identical answers."""

import dataclasses
import re

from componentize_py_types import Err

from wit_world import exports
from wit_world.imports import host, types

BANNED = "claims.banned-term"
CONSENT = "claims.consent"
QUIET = "claims.quiet-hours"
BUDGET = "claims.budget-jump"
AUDIENCE = "claims.audience-region"
UNSUBSCRIBE = "claims.unsubscribe"

S = types.Severity
RULES = [
    (BANNED, S.HIGH, "Texts carry no banned term (config `banned-terms`, ASCII case-insensitive)."),
    (CONSENT, S.CRITICAL, "Emails and texts go only to recipients with consent or a lawful basis."),
    (QUIET, S.MEDIUM, "Emails and texts sent between 21:00 and 08:00 recipient time go to a human."),
    (BUDGET, S.MEDIUM, "Budget rises beyond `max-budget-ratio` times the current budget go to a human."),
    (AUDIENCE, S.HIGH, "Audience exports stay in the action's region."),
    (UNSUBSCRIBE, S.LOW, "Commercial emails carry an unsubscribe link; one is added when missing."),
]


def finding(rule, severity, message, evidence):
    return types.Finding(rule=rule, severity=severity, message=message, evidence=evidence, location=None,
                         citation=None, fix=None)


def texts(action):
    """The texts the banned-term rule reads, in order."""
    k = action.kind
    if isinstance(k, types.ActionKind_Email):
        return [("subject", k.value.subject), ("body", k.value.body)]
    if isinstance(k, types.ActionKind_Sms):
        return [("body", k.value.body)]
    if isinstance(k, types.ActionKind_AdBudget) and k.value.ad_copy is not None:
        return [("ad-copy", k.value.ad_copy)]
    return []


def judge(action, ctx):
    terms = [t.strip().encode().lower() for t in (host.config("banned-terms") or "").split("\n")]
    terms = [t for t in terms if t]
    ratio_text = (host.config("max-budget-ratio") or "").strip()
    ratio = int(ratio_text) if re.fullmatch(r"[+-]?[0-9]+", ratio_text) else 2
    base = host.config("unsubscribe-base") or ""

    findings = []
    for field, text in texts(action):
        raw = text.encode()
        lower = raw.lower()  # bytes.lower() changes ASCII letters only
        for term in terms:
            start = lower.find(term)
            if start >= 0:
                end = start + len(term)
                f = finding(BANNED, S.HIGH, f'`{field}` contains the banned term "{term.decode()}"', list(action.evidence))
                f.location = types.Span(field=field, start=start, end=end, excerpt=raw[start:end].decode())
                findings.append(f)

    k = action.kind
    to = k.value.to if isinstance(k, (types.ActionKind_Email, types.ActionKind_Sms)) else None
    if to is not None:
        message = None
        if to.consent.kind == types.ConsentKind.WITHDRAWN:
            message = "The recipient opted out of this channel"
        elif to.consent.kind == types.ConsentKind.NONE and to.lawful_basis is None:
            message = "No consent or lawful basis on record"
        if message is not None:
            findings.append(finding(CONSENT, S.CRITICAL, message, [to.contact_id]))
    if to is not None:
        # The recipient's wall clock when the message goes out, from the host.
        at = k.value.send_at if k.value.send_at is not None else ctx.now
        try:
            local = host.to_local(to.time_zone, at)
            if not 8 <= local.hour < 21:
                findings.append(finding(QUIET, S.MEDIUM, f"It is {local.hour:02d}:{local.minute:02d} for the recipient", []))
        except Err:
            findings.append(finding(QUIET, S.MEDIUM, f'No local time for the zone "{to.time_zone}"', []))
    if isinstance(k, types.ActionKind_AdBudget):
        b = k.value
        if b.proposed_daily_micros > b.current_daily_micros * ratio:
            findings.append(finding(
                BUDGET, S.MEDIUM,
                f"The daily budget rises from {b.current_daily_micros} to {b.proposed_daily_micros} micros, more than {ratio}x",
                [],
            ))
    if isinstance(k, types.ActionKind_Audience):
        a = k.value
        if a.operation == types.AudienceOperation.EXPORT and a.platform_region != action.region:
            findings.append(finding(
                AUDIENCE, S.HIGH, f"Exports contacts of {action.region} to a platform in {a.platform_region}", [],
            ))
    modified = None
    if (isinstance(k, types.ActionKind_Email) and k.value.purpose == types.Purpose.COMMERCIAL
            and not k.value.unsubscribe):
        email = dataclasses.replace(k.value, unsubscribe=base + k.value.to.contact_id)
        modified = dataclasses.replace(action, kind=types.ActionKind_Email(email))
        findings.append(finding(UNSUBSCRIBE, S.LOW, "An unsubscribe link was added", []))

    host.log(types.Level.DEBUG, f"claims: {len(findings)} finding(s) for {action.id}")
    fired = {f.rule for f in findings}
    if fired & {BANNED, CONSENT, AUDIENCE}:
        return types.Verdict_Deny(findings)
    if fired & {QUIET, BUDGET}:
        return types.Verdict_Escalate(findings)
    if modified is not None:
        return types.Verdict_Modify(types.Modification(action=modified, findings=findings))
    return types.Verdict_Allow()


class Policy(exports.Policy):
    def describe(self) -> types.PackInfo:
        return types.PackInfo(
            name="claims",
            version="0.1.0",
            rules=[types.RuleInfo(id=i, severity=s, description=d, citation=None) for i, s, d in RULES],
            sdk=None,
        )

    def validate(self, action: types.Action, ctx: types.RunContext) -> types.Verdict:
        return judge(action, ctx)
