//! The data pack's data-driven cases (`cases.json`), run natively against
//! the pack configured by its manifest (`pack.toml`).

// One case runner for the packs, kept with the legal pack's tests.
#[path = "../../legal/tests/support/pack_cases.rs"]
mod pack_cases;

use pack_cases::Options;

#[test]
fn data_cases_pass_and_cover_every_rule() {
    let outcome = pack_cases::run::<gatehouse_pack_data::Data>(
        include_str!("../pack.toml"),
        include_str!("../cases.json"),
        Options {
            require_locations: true,
        },
    );
    println!("{}", outcome.report("data"));
    assert!(outcome.failures.is_empty(), "{}", outcome.report("data"));
}
