//! The legal pack's data-driven cases (`cases.json`), run natively against
//! the pack configured by its manifest (`pack.toml`); and the brand pack's,
//! which has no case runner of its own yet.

#[path = "support/pack_cases.rs"]
mod pack_cases;

use pack_cases::Options;

#[test]
fn legal_cases_pass_and_cover_every_rule() {
    let outcome = pack_cases::run::<gatehouse_pack_legal::Legal>(
        include_str!("../pack.toml"),
        include_str!("../cases.json"),
        Options {
            require_locations: true,
        },
    );
    println!("{}", outcome.report("legal"));
    assert!(outcome.failures.is_empty(), "{}", outcome.report("legal"));
}

#[test]
fn brand_cases_pass_and_cover_every_rule() {
    // `brand.required-disclosure` findings carry no location (the text is
    // appended), so locations are not required of brand.
    let outcome = pack_cases::run::<gatehouse_pack_brand::Brand>(
        include_str!("../../brand/pack.toml"),
        include_str!("../../brand/cases.json"),
        Options {
            require_locations: false,
        },
    );
    println!("{}", outcome.report("brand"));
    assert!(outcome.failures.is_empty(), "{}", outcome.report("brand"));
}
