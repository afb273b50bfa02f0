use crate::support::*;
use schemars::schema_for;

/// The JSON Schemas in `docs/schema/` are generated from the Rust types;
/// this test fails when they drift. Regenerate with
/// `GATEHOUSE_BLESS=1 cargo test --release --test all schema`.
#[test]
fn json_schemas_match_the_types() {
    let schemas = [
        ("action", schema_for!(gatehouse::Action)),
        ("run-context", schema_for!(gatehouse::RunContext)),
        ("verdict", schema_for!(gatehouse::Verdict)),
        ("run-report", schema_for!(gatehouse::pipeline::RunReport)),
        ("run-record", schema_for!(gatehouse::replay::RunRecord)),
    ];
    let dir = root().join("docs/schema");
    let bless = std::env::var_os("GATEHOUSE_BLESS").is_some();
    for (name, schema) in schemas {
        let path = dir.join(format!("{name}.schema.json"));
        let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        if bless {
            std::fs::write(&path, &text).unwrap();
        } else {
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                committed == text,
                "{} is out of date: run `GATEHOUSE_BLESS=1 cargo test --release --test all schema`",
                path.display()
            );
        }
    }
}

#[test]
fn recorded_runs_carry_the_schema_version() {
    let record = gatehouse::replay::RunRecord::new(
        gatehouse::pipeline::validate_all(
            &sandbox(),
            &[],
            vec![generic("x")],
            &ctx(),
            &offline(),
            &gatehouse::Limits::default(),
        ),
        gatehouse::Limits::default(),
    );
    let json = serde_json::to_value(&record).unwrap();
    assert_eq!(json["schema"], gatehouse::replay::RUN_RECORD_SCHEMA);
    let back: gatehouse::replay::RunRecord = serde_json::from_value(json).unwrap();
    assert_eq!(back, record);
}
