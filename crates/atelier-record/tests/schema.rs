//! The committed JSON Schema (`docs/asset-record.schema.json`) must be exactly what the code
//! generates. To update it after changing the types: `UPDATE_SCHEMA=1 cargo test -p atelier-record`.

use std::path::PathBuf;

fn committed_schema_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/asset-record.schema.json")
}

#[test]
fn committed_schema_matches_the_code() {
    let generated = serde_json::to_string_pretty(&atelier_record::json_schema()).unwrap() + "\n";
    let path = committed_schema_path();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    assert!(
        committed == generated,
        "docs/asset-record.schema.json differs from the AssetRecord types; \
         run `UPDATE_SCHEMA=1 cargo test -p atelier-record` and commit the result"
    );
}

#[test]
fn schema_names_every_section() {
    let schema = atelier_record::json_schema();
    let props = schema["properties"].as_object().unwrap();
    for section in [
        "hardware",
        "sanitization",
        "deployment",
        "certificate",
        "deliveries",
    ] {
        assert!(
            props.contains_key(section),
            "schema lacks section {section}"
        );
    }
}
