//! Write gatehouse skills and policy packs in Rust.
//!
//! A policy pack judges actions; a skill proposes them. Both are compiled to
//! `wasm32-unknown-unknown` and turned into WebAssembly components by
//! `gatehouse build`. Neither can reach the world except through [`host`],
//! whose every answer gatehouse records.
//!
//! # A policy in a dozen lines
//!
//! ```
//! use gatehouse_guest::prelude::*;
//!
//! struct Shout;
//!
//! impl Policy for Shout {
//!     fn describe() -> PackInfo {
//!         PackInfo::new("shout", "0.1.0")
//!             .rule("shout.caps", Severity::Low, "subject lines are not all capitals")
//!     }
//!     fn validate(action: Action, _ctx: RunContext) -> Verdict {
//!         let mut judge = Judge::new();
//!         if let Some(email) = action.as_email() {
//!             if email.subject.len() > 3 && !email.subject.chars().any(|c| c.is_lowercase()) {
//!                 judge.deny(Finding::new("shout.caps", Severity::Low, "subject is all capitals")
//!                     .at("subject", 0, &email.subject));
//!             }
//!         }
//!         judge.verdict()
//!     }
//! }
//! // In the pack crate: gatehouse_guest::export_policy!(Shout);
//!
//! // Tested natively, no wasm needed:
//! let action = Action::email("a-1", Recipient::contact("c-1"), Purpose::Commercial, "HELLO ALL", "Hi");
//! assert!(matches!(Shout::validate(action, RunContext::for_test()), Verdict::Deny(_)));
//! ```
//!
//! # Testing without wasm
//!
//! On a native target the [`host`] functions are answered by
//! [`testing::MockHost`], so `cargo test` exercises a pack or a skill
//! directly: install a mock with the evidence, time and configuration a
//! case needs, then call the trait functions.

#![deny(missing_docs)]

mod builders;
pub mod host;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;

/// Generated bindings for the policy world (used by [`export_policy!`]).
#[doc(hidden)]
#[allow(missing_docs, clippy::all)]
pub mod policy_bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "policy-world",
        pub_export_macro: true,
        export_macro_name: "__export_policy_world",
        default_bindings_module: "gatehouse_guest::policy_bindings",
        additional_derives: [PartialEq],
        generate_all,
    });
}

/// Generated bindings for the skill world (used by [`export_skill!`]).
#[doc(hidden)]
#[allow(missing_docs, clippy::all)]
pub mod skill_bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "skill-world",
        pub_export_macro: true,
        export_macro_name: "__export_skill_world",
        default_bindings_module: "gatehouse_guest::skill_bindings",
        with: {
            "gatehouse:agent/types@0.2.0": crate::policy_bindings::gatehouse::agent::types,
            "gatehouse:agent/host@0.2.0": crate::policy_bindings::gatehouse::agent::host,
        },
    });
}

pub use builders::Judge;
pub use policy_bindings::exports::gatehouse::agent::policy::Guest as Policy;
pub use policy_bindings::gatehouse::agent::types;
pub use skill_bindings::exports::gatehouse::agent::skill::Guest as Skill;

/// The version of this SDK; recorded in `describe` by the builders.
pub const SDK_VERSION: &str = concat!("gatehouse-guest ", env!("CARGO_PKG_VERSION"));

/// Everything a pack or skill author needs, in one import.
pub mod prelude {
    pub use crate::host;
    pub use crate::types::{
        Action, ActionKind, AdBudgetChange, AudienceOperation, AudienceUpdate, Channel, Consent,
        ConsentKind, Criterion, Email, Evidence, Field, Finding, GenericAction, HostError, Level,
        LocalTime, Modification, Money, PackInfo, Purpose, Query, Recipient, Relationship,
        RuleInfo, RunContext, Sender, Severity, SkillError, SkillInfo, Sms, Span, Subject,
        Timestamp, Verdict,
    };
    pub use crate::{Judge, Policy, SDK_VERSION, Skill};
}

/// Export a type implementing [`Policy`] as the pack's component exports.
///
/// Expands only on wasm32: native builds (unit tests) call the trait
/// directly, and export names like `gatehouse:agent/policy@0.2.0#validate`
/// cannot be linked into a native library.
///
/// ```ignore
/// gatehouse_guest::export_policy!(MyPack);
/// ```
#[macro_export]
macro_rules! export_policy {
    ($t:ident) => {
        #[cfg(target_arch = "wasm32")]
        $crate::__export_policy_world_impl!($t with_types_in $crate::policy_bindings);
    };
}

/// Export a type implementing [`Skill`] as the skill's component exports
/// (on wasm32 only, like [`export_policy!`]).
///
/// ```ignore
/// gatehouse_guest::export_skill!(MySkill);
/// ```
#[macro_export]
macro_rules! export_skill {
    ($t:ident) => {
        #[cfg(target_arch = "wasm32")]
        $crate::__export_skill_world_impl!($t with_types_in $crate::skill_bindings);
    };
}
