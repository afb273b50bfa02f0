//! Every rule of the pack: one per legal obligation, with the statute it
//! applies. The order is the order `describe` lists them (and `pack.toml`).

use gatehouse_guest::prelude::Severity;

/// One obligation.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    /// Rule id, `legal.<regime>.<obligation>`.
    pub id: &'static str,
    /// Severity of its findings.
    pub severity: Severity,
    /// The statute section it applies.
    pub citation: &'static str,
    /// What it checks, for a legal reviewer.
    pub description: &'static str,
}

macro_rules! rules {
    ($($name:ident = $id:literal, $sev:ident, $cite:literal, $desc:literal;)+) => {
        $(
            #[doc = $desc]
            pub const $name: Rule = Rule {
                id: $id,
                severity: Severity::$sev,
                citation: $cite,
                description: $desc,
            };
        )+
        /// Every rule, in `describe` order.
        pub const ALL: &[Rule] = &[$($name),+];
    };
}

rules! {
    JURISDICTION = "legal.jurisdiction", Critical, "gatehouse legal pack: jurisdiction table",
        "Which law applies is known: the jurisdiction table parses and every regime a sender profile adds is one the pack implements (deny otherwise).";
    CAN_SPAM_HEADER = "legal.can-spam.header", High, "15 U.S.C. 7704(a)(1)",
        "CAN-SPAM: an email's header, commercial, transactional or relationship alike, names the sender truly: a display name and a valid from-address (deny otherwise).";
    CAN_SPAM_DECEPTIVE_SUBJECT = "legal.can-spam.deceptive-subject", High, "15 U.S.C. 7704(a)(2)",
        "CAN-SPAM: a commercial email's subject does not mislead about its content: no thread marker on a first contact, no account, payment, prize or urgency claim the body does not back (deny).";
    CAN_SPAM_OPT_OUT = "legal.can-spam.opt-out", Critical, "15 U.S.C. 7704(a)(3), (a)(5)(A)(ii)",
        "CAN-SPAM: a commercial email carries a working opt-out mechanism and notice; the sender profile's is appended when missing or broken.";
    CAN_SPAM_AD_IDENTIFICATION = "legal.can-spam.ad-identification", High, "15 U.S.C. 7704(a)(5)(A)(i)",
        "CAN-SPAM: when configured, a commercial email sent without affirmative consent identifies itself as an advertisement; the disclosure is appended.";
    CAN_SPAM_POSTAL_ADDRESS = "legal.can-spam.postal-address", High, "15 U.S.C. 7704(a)(5)(A)(iii)",
        "CAN-SPAM: a commercial email carries the sender's valid physical postal address; the profile's is appended when missing.";
    TCPA_CONSENT = "legal.tcpa.consent", Critical, "47 CFR 64.1200(a)(1)-(2)",
        "TCPA: a marketing text needs prior express written consent, any other text prior express consent, in force for its purpose at send time (deny).";
    TCPA_QUIET_HOURS = "legal.tcpa.quiet-hours", High, "47 CFR 64.1200(c)(1)",
        "TCPA: a marketing text (telephone solicitation) reaches the recipient between 08:00 and 21:00 their local time (IANA zone, daylight saving time included); one outside is rescheduled to the next 08:00.";
    TCPA_SENDER_ID = "legal.tcpa.sender-id", High, "47 CFR 64.1200(d)(4)",
        "TCPA: a marketing text names the business on whose behalf it is sent; the brand is prepended when missing.";
    TCPA_OPT_OUT = "legal.tcpa.opt-out", High, "47 CFR 64.1200(a)(10)",
        "TCPA: a text tells how to opt out (reply STOP); the profile's opt-out instruction is appended when missing.";
    CASL_CONSENT = "legal.casl.consent", Critical, "CASL s. 6(1)(a), s. 10(9)-(10)",
        "CASL: a commercial message needs express consent, or implied consent still in force (a purchase within two years, an inquiry within six months, or an unexpired implied consent) (deny).";
    CASL_IDENTIFICATION = "legal.casl.identification", High, "CASL s. 6(2)(a)-(b); SOR/2012-36 ss. 2-3",
        "CASL: a message names the sender and gives a mailing address and a way to contact them; the profile's are appended when missing.";
    CASL_UNSUBSCRIBE = "legal.casl.unsubscribe", Critical, "CASL s. 6(2)(c), s. 11(1)",
        "CASL: a message carries a working unsubscribe mechanism (a link or mailto address; STOP for texts); the profile's is appended when missing or broken.";
    CASL_MISLEADING_SUBJECT = "legal.casl.misleading-subject", High, "Competition Act s. 74.011(2)",
        "CASL / Competition Act: a commercial message's subject is not false or misleading (deny).";
    GDPR_LAWFUL_BASIS = "legal.gdpr.lawful-basis", Critical, "GDPR Art. 6(1)",
        "GDPR: a message to an EU/EEA recipient rests on consent covering its purpose or on a documented lawful basis whose record the action cites (deny).";
    GDPR_WITHDRAWN = "legal.gdpr.withdrawn", Critical, "GDPR Art. 7(3), Art. 21(3)",
        "GDPR: once consent is withdrawn or the recipient objected, no commercial message goes out on any basis (deny).";
    EPRIVACY_CONSENT = "legal.eprivacy.consent", Critical, "Directive 2002/58/EC Art. 13(1)-(2)",
        "ePrivacy: commercial email or text to an EU/EEA recipient needs prior consent, or the soft opt-in of an existing customer (deny).";
    EPRIVACY_IDENTITY = "legal.eprivacy.identity", High, "Directive 2002/58/EC Art. 13(4)",
        "ePrivacy: a commercial message does not hide the sender (deny when the profile names none) and gives a valid address to opt out; the profile's mechanism is appended when missing.";
    UCPD_MISLEADING_SUBJECT = "legal.ucpd.misleading-subject", High, "Directive 2005/29/EC Art. 6(1)",
        "Unfair Commercial Practices Directive: a commercial message's subject is not misleading (deny).";
    UK_GDPR_LAWFUL_BASIS = "legal.uk-gdpr.lawful-basis", Critical, "UK GDPR Art. 6(1)",
        "UK GDPR: a message to a UK recipient rests on consent covering its purpose or on a documented lawful basis whose record the action cites (deny).";
    UK_GDPR_WITHDRAWN = "legal.uk-gdpr.withdrawn", Critical, "UK GDPR Art. 7(3), Art. 21(3)",
        "UK GDPR: once consent is withdrawn or the recipient objected, no commercial message goes out on any basis (deny).";
    PECR_CONSENT = "legal.pecr.consent", Critical, "PECR reg. 22(2)-(3)",
        "PECR: commercial email or text to a UK individual needs prior consent, or the soft opt-in of an existing customer (deny).";
    PECR_IDENTITY = "legal.pecr.identity", High, "PECR reg. 23",
        "PECR: a commercial message does not conceal the sender (deny when the profile names none) and gives a valid address to opt out; the profile's mechanism is appended when missing.";
    UK_CPR_MISLEADING_SUBJECT = "legal.uk-cpr.misleading-subject", High, "DMCC Act 2024 s. 226, Sch. 20",
        "UK consumer protection: a commercial message's subject is not a misleading action (deny).";
}
