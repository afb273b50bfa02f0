//! Messages (email and SMS) and the facts they carry: the recipient with
//! their consent and relationship, the sender profile, the purpose, the send
//! time and the targeting criteria.

use super::Timestamp;
use serde::{Deserialize, Serialize};
use wasmtime::component::{ComponentType, Lift, Lower};

/// Declares WIT enums: every derive the boundary and the JSON formats need,
/// each case named once for both (kebab-case).
macro_rules! wit_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$cdoc:meta])* $case:ident = $wit:literal,)+ }) => {
        $(#[$doc])*
        #[derive(
            ComponentType, Lift, Lower, Serialize, Deserialize, Clone, Copy, Debug, PartialEq,
            Eq, PartialOrd, Ord, Hash, schemars::JsonSchema,
        )]
        #[component(enum)]
        #[repr(u8)]
        #[serde(rename_all = "kebab-case")]
        pub enum $name {
            $($(#[$cdoc])* #[component(name = $wit)] $case,)+
        }

        impl $name {
            /// The name as in WIT and JSON.
            pub fn name(self) -> &'static str {
                match self { $(Self::$case => $wit,)+ }
            }

            /// The case named `name` (as in WIT and JSON).
            pub fn parse(name: &str) -> Option<Self> {
                match name { $($wit => Some(Self::$case),)+ _ => None }
            }

            /// Every case's name, for error messages.
            pub const NAMES: &'static [&'static str] = &[$($wit),+];
        }
    };
}

wit_enum! {
    /// A message channel.
    Channel {
        /// Email.
        Email = "email",
        /// Text message.
        Sms = "sms",
    }
}

wit_enum! {
    /// Why a message is sent; required on every message.
    Purpose {
        /// Promotes a product or service.
        Commercial = "commercial",
        /// Completes a transaction the recipient agreed to.
        Transactional = "transactional",
        /// Concerns an ongoing relationship without promoting anything.
        Relationship = "relationship",
    }
}

wit_enum! {
    /// What kind of consent a recipient gave for a channel.
    ConsentKind {
        /// Express consent in writing.
        ExpressWritten = "express-written",
        /// Express (opt-in) consent.
        Express = "express",
        /// Consent implied by a relationship; lapses at `expires-at`.
        Implied = "implied",
        /// The ePrivacy / PECR soft opt-in.
        SoftOptIn = "soft-opt-in",
        /// No consent on record.
        None = "none",
        /// Consent withdrawn (or an opt-out on record).
        Withdrawn = "withdrawn",
    }
}

wit_enum! {
    /// Whom a targeting criterion describes.
    Subject {
        /// The person.
        Person = "person",
        /// The person's organisation (firmographics).
        Organisation = "organisation",
    }
}

/// A recipient's consent for one channel.
#[derive(
    ComponentType,
    Lift,
    Lower,
    Serialize,
    Deserialize,
    Clone,
    Debug,
    PartialEq,
    Eq,
    schemars::JsonSchema,
)]
#[component(record)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Consent {
    /// Its kind.
    pub kind: ConsentKind,
    /// The channel it covers.
    pub channel: Channel,
    /// The message purposes it covers.
    #[serde(default)]
    pub purposes: Vec<Purpose>,
    /// When it was obtained.
    #[component(name = "obtained-at")]
    #[serde(default)]
    pub obtained_at: Option<Timestamp>,
    /// When it lapses.
    #[component(name = "expires-at")]
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    /// When it was withdrawn.
    #[component(name = "withdrawn-at")]
    #[serde(default)]
    pub withdrawn_at: Option<Timestamp>,
    /// The id of the record that proves it.
    #[serde(default)]
    pub evidence: Option<String>,
}

impl Consent {
    /// No consent on record for `channel`.
    pub fn none(channel: Channel) -> Self {
        Self {
            kind: ConsentKind::None,
            channel,
            purposes: Vec::new(),
            obtained_at: None,
            expires_at: None,
            withdrawn_at: None,
            evidence: None,
        }
    }
}

impl Default for Consent {
    fn default() -> Self {
        Self::none(Channel::Email)
    }
}

/// What ties a recipient to the sender besides consent.
#[derive(
    ComponentType,
    Lift,
    Lower,
    Serialize,
    Deserialize,
    Clone,
    Debug,
    Default,
    PartialEq,
    Eq,
    schemars::JsonSchema,
)]
#[component(record)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Relationship {
    /// The last purchase or contract.
    #[component(name = "last-purchase-at")]
    #[serde(default)]
    pub last_purchase_at: Option<Timestamp>,
    /// The last inquiry or application.
    #[component(name = "last-inquiry-at")]
    #[serde(default)]
    pub last_inquiry_at: Option<Timestamp>,
}

/// Facts about a recipient, stamped by the host from the system of record.
/// In JSON only `contact-id` is required: with a system of record the host
/// stamps the rest; without one, `validate` checks that the facts a pack
/// needs were given (see `pipeline::check_given_facts`).
#[derive(
    ComponentType,
    Lift,
    Lower,
    Serialize,
    Deserialize,
    Clone,
    Debug,
    PartialEq,
    Eq,
    schemars::JsonSchema,
)]
#[component(record)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Recipient {
    /// The contact's id in the system of record.
    #[component(name = "contact-id")]
    pub contact_id: String,
    /// Email address or E.164 phone number.
    #[serde(default)]
    pub address: String,
    /// Data region.
    #[serde(default)]
    pub region: String,
    /// ISO 3166-1 alpha-2 country code.
    #[serde(default)]
    pub country: String,
    /// Consent for the action's channel.
    #[serde(default)]
    pub consent: Consent,
    /// A documented lawful basis other than consent.
    #[component(name = "lawful-basis")]
    #[serde(default)]
    pub lawful_basis: Option<String>,
    /// The relationship with the sender.
    #[serde(default)]
    pub relationship: Relationship,
    /// IANA time zone.
    #[component(name = "time-zone")]
    #[serde(default)]
    pub time_zone: String,
    /// No earlier message to this contact on this channel.
    #[component(name = "first-contact")]
    #[serde(default)]
    pub first_contact: bool,
}

/// Who sends a message: the sender profile bound to the sending agent.
#[derive(
    ComponentType,
    Lift,
    Lower,
    Serialize,
    Deserialize,
    Clone,
    Debug,
    Default,
    PartialEq,
    Eq,
    schemars::JsonSchema,
)]
#[component(record)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Sender {
    /// The profile's id.
    #[serde(default)]
    pub profile: String,
    /// The brand the message speaks for.
    #[serde(default)]
    pub brand: String,
    /// The sender's legal name.
    #[component(name = "legal-name")]
    #[serde(default)]
    pub legal_name: String,
    /// Display name on emails.
    #[component(name = "from-name")]
    #[serde(default)]
    pub from_name: String,
    /// Sending email address.
    #[component(name = "from-address")]
    #[serde(default)]
    pub from_address: String,
    /// SMS sender id or short code.
    #[component(name = "sms-sender-id")]
    #[serde(default)]
    pub sms_sender_id: String,
    /// Physical postal address.
    #[component(name = "postal-address")]
    #[serde(default)]
    pub postal_address: Option<String>,
    /// How to reach the sender.
    #[serde(default)]
    pub contact: Option<String>,
    /// Unsubscribe mechanism (`https://` link or `mailto:` address).
    #[serde(default)]
    pub unsubscribe: Option<String>,
    /// SMS opt-out instruction.
    #[component(name = "sms-opt-out")]
    #[serde(default)]
    pub sms_opt_out: Option<String>,
    /// Disclosures the brand's messages carry.
    #[serde(default)]
    pub disclosures: Vec<String>,
    /// Regimes the sender's own law adds to every message.
    #[serde(default)]
    pub regimes: Vec<String>,
}

/// One criterion that picked the recipients of a message or audience.
#[derive(
    ComponentType,
    Lift,
    Lower,
    Serialize,
    Deserialize,
    Clone,
    Debug,
    PartialEq,
    Eq,
    schemars::JsonSchema,
)]
#[component(record)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Criterion {
    /// Whom it describes.
    pub about: Subject,
    /// The attribute.
    pub attribute: String,
    /// The value.
    pub value: String,
}

/// An email to one recipient.
#[derive(
    ComponentType,
    Lift,
    Lower,
    Serialize,
    Deserialize,
    Clone,
    Debug,
    PartialEq,
    Eq,
    schemars::JsonSchema,
)]
#[component(record)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Email {
    /// Who receives it.
    pub to: Recipient,
    /// Who sends it (stamped by the host).
    #[serde(default)]
    pub sender: Sender,
    /// Reply-to address.
    #[component(name = "reply-to")]
    #[serde(default)]
    pub reply_to: Option<String>,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// The unsubscribe mechanism the email carries.
    #[serde(default)]
    pub unsubscribe: Option<String>,
    /// The postal address the email carries.
    #[component(name = "postal-address")]
    #[serde(default)]
    pub postal_address: Option<String>,
    /// Why it is sent (required).
    pub purpose: Purpose,
    /// When it is to be sent; none means now.
    #[component(name = "send-at")]
    #[serde(default)]
    pub send_at: Option<Timestamp>,
    /// The criteria that picked the recipient.
    #[serde(default)]
    pub targeting: Vec<Criterion>,
}

/// A text message to one recipient.
#[derive(
    ComponentType,
    Lift,
    Lower,
    Serialize,
    Deserialize,
    Clone,
    Debug,
    PartialEq,
    Eq,
    schemars::JsonSchema,
)]
#[component(record)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Sms {
    /// Who receives it.
    pub to: Recipient,
    /// Who sends it (stamped by the host).
    #[serde(default)]
    pub sender: Sender,
    /// Message text.
    pub body: String,
    /// Why it is sent (required).
    pub purpose: Purpose,
    /// When it is to be sent; none means now.
    #[component(name = "send-at")]
    #[serde(default)]
    pub send_at: Option<Timestamp>,
    /// The criteria that picked the recipient.
    #[serde(default)]
    pub targeting: Vec<Criterion>,
}

/// A wall-clock reading in a time zone (the answer of `host.to-local`).
#[derive(
    ComponentType,
    Lift,
    Lower,
    Serialize,
    Deserialize,
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    schemars::JsonSchema,
)]
#[component(record)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LocalTime {
    /// Year.
    pub year: i32,
    /// Month, 1-12.
    pub month: u8,
    /// Day of the month.
    pub day: u8,
    /// Hour, 0-23.
    pub hour: u8,
    /// Minute, 0-59.
    pub minute: u8,
    /// Day of the week, 1 (Monday) to 7 (Sunday).
    pub weekday: u8,
    /// Offset from UTC in minutes at that instant.
    #[component(name = "utc-offset-minutes")]
    pub utc_offset_minutes: i32,
}

impl From<gatehouse_zone::LocalTime> for LocalTime {
    fn from(t: gatehouse_zone::LocalTime) -> Self {
        Self {
            year: t.year,
            month: t.month,
            day: t.day,
            hour: t.hour,
            minute: t.minute,
            weekday: t.weekday,
            utc_offset_minutes: t.utc_offset_minutes,
        }
    }
}
