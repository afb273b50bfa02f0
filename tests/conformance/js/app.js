// The `claims` pack in JavaScript: the conformance suite's rule set. The
// same rules live in ../rust/src/lib.rs and ../python/app.py; ../README.md
// is their specification and ../cases.json the cases all three must pass
// with identical answers. s64 values (times, money) arrive and leave as
// BigInt; a host import's error result is thrown.
import { config, log, nextLocal, toLocal } from 'gatehouse:agent/host@0.2.0';

const BANNED = 'claims.banned-term';
const CONSENT = 'claims.consent';
const QUIET = 'claims.quiet-hours';
const BUDGET = 'claims.budget-jump';
const AUDIENCE = 'claims.audience-region';
const SENSITIVE = 'claims.sensitive-targeting';
const UNSUBSCRIBE = 'claims.unsubscribe';

const QUIET_CITATION = '47 CFR 64.1200(c)(1)';
const SENSITIVE_CITATION = 'GDPR Art. 9(1)';
const UNSUBSCRIBE_CITATION = '15 U.S.C. 7704(a)(3)';

// The first local hour a commercial message may arrive, and the first it may not.
const FIRST_HOUR = 8;
const END_HOUR = 21;
const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

const RULES = [
  [BANNED, 'high', 'Texts carry no banned term (config `banned-terms`, ASCII case-insensitive).', undefined],
  [CONSENT, 'critical',
    'Emails and texts go only to recipients whose consent covers their purpose at send time, or who have a lawful basis.',
    undefined],
  [QUIET, 'medium',
    'Commercial messages due between 21:00 and 08:00 recipient time are rescheduled to 08:00 there.',
    QUIET_CITATION],
  [BUDGET, 'medium', 'Budget rises beyond `max-budget-ratio` times the current budget go to a human.', undefined],
  [AUDIENCE, 'high', "Audience exports stay in the action's region.", undefined],
  [SENSITIVE, 'high', 'Messages and audiences picked by a sensitive value about the person go to a human.',
    SENSITIVE_CITATION],
  [UNSUBSCRIBE, 'low', "Commercial emails carry an unsubscribe mechanism; the sender's is added when missing.",
    UNSUBSCRIBE_CITATION],
];

const utf8 = new TextEncoder();
const bytes = (s) => utf8.encode(s).length;
const asciiLower = (s) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());
const two = (n) => String(n).padStart(2, '0');
const finding = (rule, severity, message, evidence) => ({
  rule, severity, message, evidence, location: undefined, citation: undefined, fix: undefined,
});

// A configured list: one entry a line, trimmed, ASCII-lowercased, blank lines dropped.
const configList = (key) => (config(key) ?? '')
  .split('\n')
  .map((t) => asciiLower(t.trim()))
  .filter((t) => t.length > 0);

// The texts the banned-term rule reads, in order.
function texts(action) {
  const k = action.kind;
  if (k.tag === 'email') return [['subject', k.val.subject], ['body', k.val.body]];
  if (k.tag === 'sms') return [['body', k.val.body]];
  if (k.tag === 'ad-budget' && k.val.adCopy !== undefined) return [['ad-copy', k.val.adCopy]];
  return [];
}

function targeting(action) {
  const k = action.kind;
  return k.tag === 'email' || k.tag === 'sms' || k.tag === 'audience' ? k.val.targeting : [];
}

// `+HH:MM` or `-HH:MM`.
function offset(minutes) {
  const abs = Math.abs(minutes);
  return `${minutes < 0 ? '-' : '+'}${two(Math.floor(abs / 60))}:${two(abs % 60)}`;
}

// Why the recipient's consent does not serve a message sent at `at`, if it does not.
function consentGap(to, purpose, at) {
  const c = to.consent;
  if (c.kind === 'withdrawn') return 'The recipient opted out of this channel';
  if (to.lawfulBasis !== undefined) return undefined;
  if (c.kind === 'none') return 'No consent or lawful basis on record';
  if (!c.purposes.includes(purpose)) return `The consent on record does not cover ${purpose} messages`;
  if (c.expiresAt !== undefined && c.expiresAt <= at) return `The consent on record lapsed at ${c.expiresAt}`;
  return undefined;
}

// What one call decided: the findings and the edits, before the verdict.
class Judgement {
  constructor(action) {
    this.action = action;
    this.findings = [];
    this.escalate = false;
    this.changed = undefined;
  }

  // Apply edits to the message of the (already changed) action.
  change(edits) {
    const base = this.changed ?? this.action;
    this.changed = { ...base, kind: { tag: base.kind.tag, val: { ...base.kind.val, ...edits } } };
  }
}

// claims.quiet-hours for a commercial message due at `at` in `zone`.
function quietHours(j, zone, at) {
  const unknown = () => {
    j.escalate = true;
    const f = finding(QUIET, 'medium', `No local time for the zone "${zone}" at ${at}`, []);
    f.citation = QUIET_CITATION;
    j.findings.push(f);
  };
  // An instant before 1970 is not asked about: componentize-js 0.23.0 traps
  // when a negative s64 is passed to a host import.
  if (at < 0n) {
    unknown();
    return;
  }
  let local;
  try {
    local = toLocal(zone, at);
  } catch {
    unknown();
    return;
  }
  if (local.hour >= FIRST_HOUR && local.hour < END_HOUR) return;
  let next;
  try {
    next = nextLocal(zone, at, FIRST_HOUR, 0);
  } catch {
    unknown();
    return;
  }
  const day = local.weekday >= 1 && local.weekday <= 7 ? WEEKDAYS[local.weekday - 1] : '?';
  const f = finding(QUIET, 'medium',
    `It would be ${two(local.hour)}:${two(local.minute)} on ${day} (UTC${offset(local.utcOffsetMinutes)}) for the recipient`,
    []);
  f.citation = QUIET_CITATION;
  f.fix = `rescheduled to 08:00 ${zone} (send-at ${next})`;
  j.findings.push(f);
  j.change({ sendAt: next });
}

function judge(action, ctx) {
  const terms = configList('banned-terms');
  const ratioText = (config('max-budget-ratio') ?? '').trim();
  const ratio = /^[+-]?[0-9]+$/.test(ratioText) ? BigInt(ratioText) : 2n;
  const base = config('unsubscribe-base') ?? '';
  const sensitive = configList('sensitive-values');

  const j = new Judgement(action);
  // claims.banned-term
  for (const [field, text] of texts(action)) {
    const lower = asciiLower(text);
    for (const term of terms) {
      const at = lower.indexOf(term); // UTF-16 index; spans are UTF-8 bytes
      if (at >= 0) {
        const start = bytes(text.slice(0, at));
        const f = finding(BANNED, 'high', `\`${field}\` contains the banned term "${term}"`, [...action.evidence]);
        f.location = { field, start, end: start + bytes(term), excerpt: text.slice(at, at + term.length) };
        j.findings.push(f);
      }
    }
  }
  const k = action.kind;
  const message = k.tag === 'email' || k.tag === 'sms' ? k.val : undefined;
  if (message !== undefined) {
    const at = message.sendAt ?? ctx.now;
    // claims.consent
    const gap = consentGap(message.to, message.purpose, at);
    if (gap !== undefined) {
      const evidence = [message.to.contactId];
      if (message.to.consent.evidence !== undefined) evidence.push(message.to.consent.evidence);
      j.findings.push(finding(CONSENT, 'critical', gap, evidence));
    }
    // claims.quiet-hours: the recipient's wall clock when the message goes out, from the host.
    if (message.purpose === 'commercial') quietHours(j, message.to.timeZone, at);
  }
  // claims.budget-jump
  if (k.tag === 'ad-budget') {
    const b = k.val;
    if (b.proposedDailyMicros > b.currentDailyMicros * ratio) {
      j.escalate = true;
      j.findings.push(finding(BUDGET, 'medium',
        `The daily budget rises from ${b.currentDailyMicros} to ${b.proposedDailyMicros} micros, more than ${ratio}x`, []));
    }
  }
  // claims.audience-region
  if (k.tag === 'audience' && k.val.operation === 'export' && k.val.platformRegion !== action.region) {
    j.findings.push(finding(AUDIENCE, 'high', `Exports contacts of ${action.region} to a platform in ${k.val.platformRegion}`, []));
  }
  // claims.sensitive-targeting
  for (const c of targeting(action)) {
    if (c.about === 'person' && sensitive.includes(asciiLower(c.value.trim()))) {
      j.escalate = true;
      const f = finding(SENSITIVE, 'high', `Picked by the person's ${c.attribute} "${c.value}"`, []);
      f.citation = SENSITIVE_CITATION;
      j.findings.push(f);
    }
  }
  // claims.unsubscribe
  if (k.tag === 'email' && k.val.purpose === 'commercial' && !k.val.unsubscribe) {
    const own = (k.val.sender.unsubscribe ?? '').trim();
    const link = own.length > 0 ? own : base + k.val.to.contactId;
    const f = finding(UNSUBSCRIBE, 'low', 'An unsubscribe link was added', []);
    f.citation = UNSUBSCRIBE_CITATION;
    f.fix = `set the unsubscribe mechanism to ${link}`;
    j.findings.push(f);
    j.change({ unsubscribe: link });
  }

  log('debug', `claims: ${j.findings.length} finding(s) for ${action.id}`);
  if (j.findings.some((f) => [BANNED, CONSENT, AUDIENCE].includes(f.rule))) return { tag: 'deny', val: j.findings };
  if (j.escalate) return { tag: 'escalate', val: j.findings };
  if (j.changed !== undefined) return { tag: 'modify', val: { action: j.changed, findings: j.findings } };
  return { tag: 'allow' };
}

export const policy = {
  describe() {
    return {
      name: 'claims',
      version: '0.2.0',
      rules: RULES.map(([id, severity, description, citation]) => ({ id, severity, description, citation })),
      sdk: undefined,
    };
  },
  validate(action, ctx) {
    return judge(action, ctx);
  },
};
