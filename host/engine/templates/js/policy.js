// The `{{name}}` policy pack (JavaScript, built with componentize-js).
import { config } from 'gatehouse:agent/host@0.2.0';

const RULE = '{{name}}.no-shouting';
const utf8 = new TextEncoder();

export const policy = {
  describe() {
    return {
      name: '{{name}}',
      version: '0.1.0',
      rules: [
        { id: RULE, severity: 'low', description: 'Email subjects are not written in capitals only.', citation: undefined },
      ],
      sdk: undefined,
    };
  },

  validate(action, ctx) {
    if (action.kind.tag === 'email') {
      const subject = action.kind.val.subject;
      const minimum = Number(config('min-letters') ?? '4');
      // A letter has two cases. (No Unicode property escapes: the engine is built without ICU.)
      const letters = [...subject].filter((c) => c.toLowerCase() !== c.toUpperCase());
      if (letters.length >= minimum && !letters.some((c) => c === c.toLowerCase())) {
        // console.log goes to the run's log (virtual WASI stdout).
        console.log(`${action.id}: the subject shouts`);
        return {
          tag: 'deny',
          val: [
            {
              rule: RULE,
              severity: 'low',
              message: 'The subject is written in capitals only.',
              evidence: [],
              location: { field: 'subject', start: 0, end: utf8.encode(subject).length, excerpt: subject },
              citation: undefined,
              fix: undefined,
            },
          ],
        };
      }
    }
    return { tag: 'allow' };
  },
};
