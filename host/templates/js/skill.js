// The `{{name}}` skill (JavaScript, built with componentize-js): one email
// proposal per contact of the run's partition who consented to email.
import { retrieve } from 'gatehouse:agent/host@0.1.0';

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
      if (f.consent_email !== 'granted') continue;
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
            to: {
              contactId: contact.id,
              address: f.email ?? '',
              region: contact.partition,
              country: f.country ?? '',
              consent: 'granted',
              lawfulBasis: undefined,
              utcOffsetMinutes: Number(f.utc_offset_minutes ?? '0'),
              firstContact: false,
            },
            fromName: 'Acme Marketing',
            fromAddress: 'news@acme.example',
            replyTo: undefined,
            subject: `${f.first_name ?? 'Hello'}, news from Acme`,
            body: `Hi ${f.first_name ?? 'there'},\n\nOur spring catalogue is out.\n\nThe Acme team`,
            unsubscribeUrl: `https://acme.example/u/${contact.id}`,
            postalAddress: 'Acme Inc., 100 Main St, Springfield',
            commercial: true,
          },
        },
      });
    }
    return actions;
  },
};
