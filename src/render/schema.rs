//! The JSON Schema of every document porttune prints (`--format json`), generated from the
//! Rust types that serialise them (schemars): the schema cannot drift from the output.
//! docs/json.md says what each holds and the compatibility policy; docs/schema/ keeps a copy
//! of each (`porttune schema --dir docs/schema`).

use schemars::{JsonSchema, SchemaGenerator, generate::SchemaSettings};

/// The documents, by the command that prints them (`apply` prints the `plan` document).
pub const DOCUMENTS: &[&str] = &[
    "check", "flood", "plan", "rollback", "status", "doctor", "explain", "servers",
];

/// Which command prints a document, in words (the schema's description).
fn printed_by(doc: &str) -> &'static str {
    match doc {
        "check" => "porttune check --format json",
        "flood" => "porttune flood --format json",
        "plan" => "porttune plan/apply --format json (apply --check, --dry-run, --verify)",
        "rollback" => "porttune rollback --format json",
        "status" => "porttune status --format json",
        "doctor" => "porttune doctor --format json",
        "explain" => "porttune explain --format json",
        "servers" => "porttune explain --servers --format json",
        _ => "",
    }
}

fn generate<T: JsonSchema>(doc: &str) -> serde_json::Value {
    let mut g = SchemaGenerator::new(SchemaSettings::draft2020_12().for_serialize());
    let schema = g.root_schema_for::<T>();
    let mut v = serde_json::to_value(schema).unwrap_or_default();
    open_objects(&mut v);
    if let Some(o) = v.as_object_mut() {
        o.insert("$id".into(), format!("urn:porttune:schema:{doc}:1").into());
        o.insert("title".into(), format!("porttune {doc} document").into());
        o.insert(
            "description".into(),
            format!(
                "What `{}` prints (schema 1). Fields may be added within a schema version; see docs/json.md.",
                printed_by(doc)
            )
            .into(),
        );
    }
    v
}

/// The JSON Schema of one document, or `None` for an unknown name.
pub fn schema(doc: &str) -> Option<serde_json::Value> {
    Some(match doc {
        "check" => generate::<super::json::CheckJson<'static>>(doc),
        "flood" => generate::<crate::flood::report::FloodReport>(doc),
        "plan" => generate::<super::plan::PlanJson<'static>>(doc),
        "rollback" => generate::<super::journal::RollbackJson<'static>>(doc),
        "status" => generate::<super::journal::StatusJson<'static>>(doc),
        "doctor" => generate::<super::doctor::DoctorJson<'static>>(doc),
        "explain" => generate::<super::explain::ExplainJson<'static>>(doc),
        "servers" => generate::<crate::explain::servers::Listing>(doc),
        _ => return None,
    })
}

/// Objects stay open: a field may be added within a schema version (docs/json.md), so a
/// consumer validating with this schema must not reject one it does not know. Types that
/// refuse unknown fields when *read* (snapshot parts) would otherwise say
/// `additionalProperties: false`.
fn open_objects(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(o) => {
            if o.get("additionalProperties") == Some(&serde_json::Value::Bool(false)) {
                o.remove("additionalProperties");
            }
            o.values_mut().for_each(open_objects);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(open_objects),
        _ => {}
    }
}
