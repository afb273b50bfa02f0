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
SENSITIVE = "claims.sensitive-targeting"
UNSUBSCRIBE = "claims.unsubscribe"

QUIET_CITATION = "47 CFR 64.1200(c)(1)"
SENSITIVE_CITATION = "GDPR Art. 9(1)"
UNSUBSCRIBE_CITATION = "15 U.S.C. 7704(a)(3)"

# The first local hour a commercial message may arrive, and the first it may not.
FIRST_HOUR, END_HOUR = 8, 21
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

S = types.Severity
RULES = [
    (BANNED, S.HIGH, "Texts carry no banned term (config `banned-terms`, ASCII case-insensitive).", None),
    (CONSENT, S.CRITICAL,
     "Emails and texts go only to recipients whose consent covers their purpose at send time, or who have a lawful basis.",
     None),
    (QUIET, S.MEDIUM,
     "Commercial messages due between 21:00 and 08:00 recipient time are rescheduled to 08:00 there.",
     QUIET_CITATION),
    (BUDGET, S.MEDIUM, "Budget rises beyond `max-budget-ratio` times the current budget go to a human.", None),
    (AUDIENCE, S.HIGH, "Audience exports stay in the action's region.", None),
    (SENSITIVE, S.HIGH, "Messages and audiences picked by a sensitive value about the person go to a human.",
     SENSITIVE_CITATION),
    (UNSUBSCRIBE, S.LOW, "Commercial emails carry an unsubscribe mechanism; the sender's is added when missing.",
     UNSUBSCRIBE_CITATION),
]
PURPOSES = {
    types.Purpose.COMMERCIAL: "commercial",
    types.Purpose.TRANSACTIONAL: "transactional",
    types.Purpose.RELATIONSHIP: "relationship",
}


def finding(rule, severity, message, evidence):
    return types.Finding(rule=rule, severity=severity, message=message, evidence=evidence, location=None,
                         citation=None, fix=None)


def config_list(key):
    """A configured list: one entry a line, trimmed, ASCII-lowercased (as bytes), blank lines dropped."""
    entries = [line.strip().encode().lower() for line in (host.config(key) or "").split("\n")]
    return [e for e in entries if e]


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


def targeting(action):
    k = action.kind
    if isinstance(k, (types.ActionKind_Email, types.ActionKind_Sms, types.ActionKind_Audience)):
        return k.value.targeting
    return []


def offset(minutes):
    """`+HH:MM` or `-HH:MM`."""
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def consent_gap(to, purpose, at):
    """Why the recipient's consent does not serve a message sent at `at`, if it does not."""
    c = to.consent
    if c.kind == types.ConsentKind.WITHDRAWN:
        return "The recipient opted out of this channel"
    if to.lawful_basis is not None:
        return None
    if c.kind == types.ConsentKind.NONE:
        return "No consent or lawful basis on record"
    if purpose not in c.purposes:
        return f"The consent on record does not cover {PURPOSES[purpose]} messages"
    if c.expires_at is not None and c.expires_at <= at:
        return f"The consent on record lapsed at {c.expires_at}"
    return None


class Judgement:
    """What one call decided: the findings and the edits, before the verdict."""

    def __init__(self, action):
        self.action = action
        self.findings = []
        self.escalate = False
        self.changed = None

    def change(self, **edits):
        """Apply edits to the message of the (already changed) action."""
        base = self.changed if self.changed is not None else self.action
        message = dataclasses.replace(base.kind.value, **edits)
        self.changed = dataclasses.replace(base, kind=type(base.kind)(message))


def quiet_hours(j, zone, at):
    """claims.quiet-hours for a commercial message due at `at` in `zone`."""

    def unknown():
        j.escalate = True
        f = finding(QUIET, S.MEDIUM, f'No local time for the zone "{zone}" at {at}', [])
        f.citation = QUIET_CITATION
        j.findings.append(f)

    # An instant before 1970 is not asked about: a JavaScript guest cannot pass a negative s64
    # to a host import (componentize-js 0.23.0 traps).
    if at < 0:
        return unknown()
    try:
        local = host.to_local(zone, at)
    except Err:
        return unknown()
    if FIRST_HOUR <= local.hour < END_HOUR:
        return None
    try:
        after = host.next_local(zone, at, FIRST_HOUR, 0)
    except Err:
        return unknown()
    day = WEEKDAYS[local.weekday - 1] if 1 <= local.weekday <= 7 else "?"
    f = finding(
        QUIET, S.MEDIUM,
        f"It would be {local.hour:02d}:{local.minute:02d} on {day} (UTC{offset(local.utc_offset_minutes)}) "
        "for the recipient",
        [],
    )
    f.citation = QUIET_CITATION
    f.fix = f"rescheduled to 08:00 {zone} (send-at {after})"
    j.findings.append(f)
    j.change(send_at=after)
    return None


def judge(action, ctx):
    terms = config_list("banned-terms")
    ratio_text = (host.config("max-budget-ratio") or "").strip()
    ratio = int(ratio_text) if re.fullmatch(r"[+-]?[0-9]+", ratio_text) else 2
    base = host.config("unsubscribe-base") or ""
    sensitive = config_list("sensitive-values")

    j = Judgement(action)
    # claims.banned-term
    for field, text in texts(action):
        raw = text.encode()
        lower = raw.lower()  # bytes.lower() changes ASCII letters only
        for term in terms:
            start = lower.find(term)
            if start >= 0:
                end = start + len(term)
                f = finding(BANNED, S.HIGH, f'`{field}` contains the banned term "{term.decode()}"', list(action.evidence))
                f.location = types.Span(field=field, start=start, end=end, excerpt=raw[start:end].decode())
                j.findings.append(f)

    k = action.kind
    message = k.value if isinstance(k, (types.ActionKind_Email, types.ActionKind_Sms)) else None
    at = None
    if message is not None:
        at = message.send_at if message.send_at is not None else ctx.now
        # claims.consent
        gap = consent_gap(message.to, message.purpose, at)
        if gap is not None:
            evidence = [message.to.contact_id]
            if message.to.consent.evidence is not None:
                evidence.append(message.to.consent.evidence)
            j.findings.append(finding(CONSENT, S.CRITICAL, gap, evidence))
        # claims.quiet-hours: the recipient's wall clock when the message goes out, from the host.
        if message.purpose == types.Purpose.COMMERCIAL:
            quiet_hours(j, message.to.time_zone, at)
    # claims.budget-jump
    if isinstance(k, types.ActionKind_AdBudget):
        b = k.value
        if b.proposed_daily_micros > b.current_daily_micros * ratio:
            j.escalate = True
            j.findings.append(finding(
                BUDGET, S.MEDIUM,
                f"The daily budget rises from {b.current_daily_micros} to {b.proposed_daily_micros} micros, more than {ratio}x",
                [],
            ))
    # claims.audience-region
    if isinstance(k, types.ActionKind_Audience):
        a = k.value
        if a.operation == types.AudienceOperation.EXPORT and a.platform_region != action.region:
            j.findings.append(finding(
                AUDIENCE, S.HIGH, f"Exports contacts of {action.region} to a platform in {a.platform_region}", [],
            ))
    # claims.sensitive-targeting
    for c in targeting(action):
        if c.about == types.Subject.PERSON and c.value.strip().encode().lower() in sensitive:
            j.escalate = True
            f = finding(SENSITIVE, S.HIGH, f'Picked by the person\'s {c.attribute} "{c.value}"', [])
            f.citation = SENSITIVE_CITATION
            j.findings.append(f)
    # claims.unsubscribe
    if (isinstance(k, types.ActionKind_Email) and k.value.purpose == types.Purpose.COMMERCIAL
            and not k.value.unsubscribe):
        own = (k.value.sender.unsubscribe or "").strip()
        link = own if own else base + k.value.to.contact_id
        f = finding(UNSUBSCRIBE, S.LOW, "An unsubscribe link was added", [])
        f.citation = UNSUBSCRIBE_CITATION
        f.fix = f"set the unsubscribe mechanism to {link}"
        j.findings.append(f)
        j.change(unsubscribe=link)

    host.log(types.Level.DEBUG, f"claims: {len(j.findings)} finding(s) for {action.id}")
    if any(f.rule in (BANNED, CONSENT, AUDIENCE) for f in j.findings):
        return types.Verdict_Deny(j.findings)
    if j.escalate:
        return types.Verdict_Escalate(j.findings)
    if j.changed is not None:
        return types.Verdict_Modify(types.Modification(action=j.changed, findings=j.findings))
    return types.Verdict_Allow()


class Policy(exports.Policy):
    def describe(self) -> types.PackInfo:
        return types.PackInfo(
            name="claims",
            version="0.2.0",
            rules=[types.RuleInfo(id=i, severity=s, description=d, citation=c) for i, s, d, c in RULES],
            sdk=None,
        )

    def validate(self, action: types.Action, ctx: types.RunContext) -> types.Verdict:
        return judge(action, ctx)
