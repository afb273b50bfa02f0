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
            if f.get("consent_email") not in ("express-written", "express", "implied", "soft-opt-in"):
                continue
            # The host stamps the recipient's facts from the system of record
            # and the sender profile bound to the agent over these before any
            # pack sees the email: leave them empty.
            to = types.Recipient(
                contact_id=contact.id,
                address="",
                region="",
                country="",
                consent=types.Consent(
                    kind=types.ConsentKind.NONE,
                    channel=types.Channel.EMAIL,
                    purposes=[],
                    obtained_at=None,
                    expires_at=None,
                    withdrawn_at=None,
                    evidence=None,
                ),
                lawful_basis=None,
                relationship=types.Relationship(last_purchase_at=None, last_inquiry_at=None),
                time_zone="",
                first_contact=True,
            )
            sender = types.Sender(
                profile="", brand="", legal_name="", from_name="", from_address="", sms_sender_id="",
                postal_address=None, contact=None, unsubscribe=None, sms_opt_out=None,
                disclosures=[], regimes=[],
            )
            email = types.Email(
                to=to,
                sender=sender,
                reply_to=None,
                subject=f"{f.get('first_name', 'Hello')}, news from Acme",
                body=f"Hi {f.get('first_name', 'there')},\n\nOur spring catalogue is out.\n\nThe Acme team",
                # No footer: the packs append the sender profile's unsubscribe
                # mechanism and postal address where the recipient's law asks.
                unsubscribe=None,
                postal_address=None,
                # Every message states why it is sent; there is no default.
                purpose=types.Purpose.COMMERCIAL,
                # None: send when approved (a pack may reschedule it).
                send_at=None,
                # What picked the contact (here: nothing but their consent), e.g.
                # types.Criterion(about=types.Subject.PERSON, attribute="interest", value="running").
                targeting=[],
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
