// The `{{name}}` skill (JavaScript, built with componentize-js): one email
// proposal per contact of the run's partition who consented to email.
import { retrieve } from 'gatehouse:agent/host@0.2.0';

export const skill = {
  describe() {
    return { name: '{{name}}', version: '0.1.0', sdk: undefined };
  },

  act(ctx) {
    let contacts;
    try {
      contacts = retrieve({ collection: 'contacts', filter: [], limit: 20 });
    } catch (e) {
      throw { tag: 'host', val: e.payload };
    }
    const actions = [];
    for (const contact of contacts) {
      const f = Object.fromEntries(contact.fields.map((x) => [x.name, x.value]));
      if (!['express-written', 'express', 'implied', 'soft-opt-in'].includes(f.consent_email)) continue;
      actions.push({
        id: `${ctx.runId}-${contact.id}`,
        agent: ctx.agent,
        region: contact.partition,
        estimatedCost: { currency: 'USD', micros: 1000n },
        evidence: [contact.id],
        rationale: `${contact.id} consented to email.`,
        kind: {
          tag: 'email',
          val: {
            // The host stamps the recipient's facts from the system of
            // record and the sender profile bound to the agent over these
            // before any pack sees the email: leave them empty.
            to: {
              contactId: contact.id,
              address: '',
              region: '',
              country: '',
              consent: {
                kind: 'none', channel: 'email', purposes: [],
                obtainedAt: undefined, expiresAt: undefined, withdrawnAt: undefined, evidence: undefined,
              },
              lawfulBasis: undefined,
              relationship: { lastPurchaseAt: undefined, lastInquiryAt: undefined },
              timeZone: '',
              firstContact: true,
            },
            sender: {
              profile: '', brand: '', legalName: '', fromName: '', fromAddress: '', smsSenderId: '',
              postalAddress: undefined, contact: undefined, unsubscribe: undefined, smsOptOut: undefined,
              disclosures: [], regimes: [],
            },
            replyTo: undefined,
            subject: `${f.first_name ?? 'Hello'}, news from Acme`,
            body: `Hi ${f.first_name ?? 'there'},\n\nOur spring catalogue is out.\n\nThe Acme team`,
            // No footer: the packs append the sender profile's unsubscribe
            // mechanism and postal address where the recipient's law asks.
            unsubscribe: undefined,
            postalAddress: undefined,
            // Every message states why it is sent; there is no default.
            purpose: 'commercial',
            // undefined: send when approved (a pack may reschedule it; s64
            // times are BigInt).
            sendAt: undefined,
            // What picked the contact (here: nothing but their consent), e.g.
            // { about: 'person', attribute: 'interest', value: 'running' }.
            targeting: [],
          },
        },
      });
    }
    return actions;
  },
};
