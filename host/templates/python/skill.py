"""The `{{name}}` skill (Python, built with componentize-py): one email
proposal per contact of the run's partition who consented to email."""

from wit_world import exports
from wit_world.imports import host, types
from componentize_py_types import Err


class Skill(exports.Skill):
    def describe(self) -> types.SkillInfo:
        return types.SkillInfo(name="{{name}}", version="0.1.0", sdk=None)

    def act(self, ctx: types.RunContext) -> list[types.Action]:
        try:
            contacts = host.retrieve(types.Query(collection="contacts", filter=[], limit=20))
        except Err as e:
            raise Err(types.SkillError_Host(e.value))
        actions = []
        for contact in contacts:
            f = {field.name: field.value for field in contact.fields}
            if f.get("consent_email") != "granted":
                continue
            to = types.Recipient(
                contact_id=contact.id,
                address=f.get("email", ""),
                region=contact.partition,
                country=f.get("country", ""),
                consent=types.Consent.GRANTED,
                lawful_basis=None,
                utc_offset_minutes=int(f.get("utc_offset_minutes", "0")),
                first_contact=False,
            )
            email = types.Email(
                to=to,
                from_name="Acme Marketing",
                from_address="news@acme.example",
                reply_to=None,
                subject=f"{f.get('first_name', 'Hello')}, news from Acme",
                body=f"Hi {f.get('first_name', 'there')},\n\nOur spring catalogue is out.\n\nThe Acme team",
                unsubscribe_url=f"https://acme.example/u/{contact.id}",
                postal_address="Acme Inc., 100 Main St, Springfield",
                commercial=True,
            )
            actions.append(
                types.Action(
                    id=f"{ctx.run_id}-{contact.id}",
                    agent=ctx.agent,
                    region=contact.partition,
                    estimated_cost=types.Money(currency="USD", micros=1000),
                    evidence=[contact.id],
                    rationale=f"{contact.id} consented to email.",
                    kind=types.ActionKind_Email(email),
                )
            )
        return actions
