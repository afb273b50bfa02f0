// The `claims` pack in JavaScript: the conformance suite's rule set. The
// same rules live in ../rust/src/lib.rs and ../python/app.py; ../README.md
// is their specification and ../cases.json the cases all three must pass
// with identical answers.
import { config, log, toLocal } from 'gatehouse:agent/host@0.2.0';

const BANNED = 'claims.banned-term';
const CONSENT = 'claims.consent';
const QUIET = 'claims.quiet-hours';
const BUDGET = 'claims.budget-jump';
const AUDIENCE = 'claims.audience-region';
const UNSUBSCRIBE = 'claims.unsubscribe';

const RULES = [
  [BANNED, 'high', 'Texts carry no banned term (config `banned-terms`, ASCII case-insensitive).'],
  [CONSENT, 'critical', 'Emails and texts go only to recipients with consent or a lawful basis.'],
  [QUIET, 'medium', 'Emails and texts sent between 21:00 and 08:00 recipient time go to a human.'],
  [BUDGET, 'medium', 'Budget rises beyond `max-budget-ratio` times the current budget go to a human.'],
  [AUDIENCE, 'high', "Audience exports stay in the action's region."],
  [UNSUBSCRIBE, 'low', 'Commercial emails carry an unsubscribe link; one is added when missing.'],
];

const utf8 = new TextEncoder();
const bytes = (s) => utf8.encode(s).length;
const asciiLower = (s) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());
const finding = (rule, severity, message, evidence) => ({
  rule, severity, message, evidence, location: undefined, citation: undefined, fix: undefined,
});

// The texts the banned-term rule reads, in order.
function texts(action) {
  const k = action.kind;
  if (k.tag === 'email') return [['subject', k.val.subject], ['body', k.val.body]];
  if (k.tag === 'sms') return [['body', k.val.body]];
  if (k.tag === 'ad-budget' && k.val.adCopy !== undefined) return [['ad-copy', k.val.adCopy]];
  return [];
}

function judge(action, ctx) {
  const terms = (config('banned-terms') ?? '')
    .split('\n')
    .map((t) => asciiLower(t.trim()))
    .filter((t) => t.length > 0);
  const ratioText = (config('max-budget-ratio') ?? '').trim();
  const ratio = /^[+-]?[0-9]+$/.test(ratioText) ? BigInt(ratioText) : 2n;
  const base = config('unsubscribe-base') ?? '';

  const findings = [];
  for (const [field, text] of texts(action)) {
    const lower = asciiLower(text);
    for (const term of terms) {
      const at = lower.indexOf(term); // UTF-16 index; spans are UTF-8 bytes
      if (at >= 0) {
        const start = bytes(text.slice(0, at));
        const f = finding(BANNED, 'high', `\`${field}\` contains the banned term "${term}"`, [...action.evidence]);
        f.location = { field, start, end: start + bytes(term), excerpt: text.slice(at, at + term.length) };
        findings.push(f);
      }
    }
  }
  const k = action.kind;
  const to = k.tag === 'email' || k.tag === 'sms' ? k.val.to : undefined;
  if (to !== undefined) {
    let message;
    if (to.consent.kind === 'withdrawn') message = 'The recipient opted out of this channel';
    else if (to.consent.kind === 'none' && to.lawfulBasis === undefined) message = 'No consent or lawful basis on record';
    if (message !== undefined) findings.push(finding(CONSENT, 'critical', message, [to.contactId]));
  }
  if (to !== undefined) {
    // The recipient's wall clock when the message goes out, from the host
    // (s64 values arrive and leave as BigInt; an error result is thrown).
    const at = k.val.sendAt ?? ctx.now;
    const two = (n) => String(n).padStart(2, '0');
    try {
      const local = toLocal(to.timeZone, at);
      if (!(local.hour >= 8 && local.hour < 21)) {
        findings.push(finding(QUIET, 'medium', `It is ${two(local.hour)}:${two(local.minute)} for the recipient`, []));
      }
    } catch {
      findings.push(finding(QUIET, 'medium', `No local time for the zone "${to.timeZone}"`, []));
    }
  }
  if (k.tag === 'ad-budget') {
    const b = k.val;
    if (b.proposedDailyMicros > b.currentDailyMicros * ratio) {
      findings.push(finding(BUDGET, 'medium',
        `The daily budget rises from ${b.currentDailyMicros} to ${b.proposedDailyMicros} micros, more than ${ratio}x`, []));
    }
  }
  if (k.tag === 'audience' && k.val.operation === 'export' && k.val.platformRegion !== action.region) {
    findings.push(finding(AUDIENCE, 'high', `Exports contacts of ${action.region} to a platform in ${k.val.platformRegion}`, []));
  }
  let modified;
  if (k.tag === 'email' && k.val.purpose === 'commercial' && !k.val.unsubscribe) {
    modified = { ...action, kind: { tag: 'email', val: { ...k.val, unsubscribe: base + k.val.to.contactId } } };
    findings.push(finding(UNSUBSCRIBE, 'low', 'An unsubscribe link was added', []));
  }

  log('debug', `claims: ${findings.length} finding(s) for ${action.id}`);
  const fired = (ids) => findings.some((f) => ids.includes(f.rule));
  if (fired([BANNED, CONSENT, AUDIENCE])) return { tag: 'deny', val: findings };
  if (fired([QUIET, BUDGET])) return { tag: 'escalate', val: findings };
  if (modified !== undefined) return { tag: 'modify', val: { action: modified, findings } };
  return { tag: 'allow' };
}

export const policy = {
  describe() {
    return {
      name: 'claims',
      version: '0.1.0',
      rules: RULES.map(([id, severity, description]) => ({ id, severity, description, citation: undefined })),
      sdk: undefined,
    };
  },
  validate(action, ctx) {
    return judge(action, ctx);
  },
};
