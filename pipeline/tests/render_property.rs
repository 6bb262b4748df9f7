//! Property test: random valid specs (every field type and constraint, every relation kind
//! including self-references, auth with and without roles, every database) render to Python
//! that compiles. One Python process per case compiles the whole tree.

use std::path::Path;
use std::process::Command;

use codebegen_pipeline::render::{render, RenderOptions};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

const ENTITY_NAMES: &[&str] = &[
    "User", "Post", "Tag", "Comment", "Session", "Date", "Order", "Item", "Category", "Router",
    "Status", "Model", "Schema", "Filter", "Page", "Setting", "Invoice", "Person", "Address",
];
const FIELD_NAMES: &[&str] = &[
    "name",
    "title",
    "email",
    "status",
    "type",
    "uuid",
    "dt",
    "decimal",
    "sa",
    "orm",
    "enum",
    "date",
    "amount",
    "count",
    "url",
    "body",
    "data",
    "value",
    "models",
    "schemas",
    "settings",
    "base",
    "position",
    "due_at",
    "is_active",
    "rating",
    "score",
    "label",
    "code",
    "price",
];
const RELATION_FIELDS: &[&str] = &[
    "",
    "owner_id",
    "parent_id",
    "author",
    "target_id",
    "main_id",
];
const TYPES: &[&str] = &[
    "string", "text", "integer", "float", "decimal", "boolean", "date", "datetime", "time",
    "email", "url", "uuid", "enum", "json",
];
const ROLES: &[&str] = &["admin", "editor", "member", "viewer"];

fn bound() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        Just(None),
        (-1000i32..1000).prop_map(|n| Some(f64::from(n) / 4.0))
    ]
}

fn default_for(kind: &str) -> BoxedStrategy<Option<Value>> {
    let value: BoxedStrategy<Value> = match kind {
        "integer" => (0i64..10).prop_map(Value::from).boxed(),
        "float" | "decimal" => (0i32..10).prop_map(|n| json!(f64::from(n) + 0.5)).boxed(),
        "boolean" => any::<bool>().prop_map(Value::from).boxed(),
        "date" => prop_oneof![
            Just(json!("2024-05-01")),
            Just(json!("today")),
            Just(json!("soon"))
        ]
        .boxed(),
        "datetime" => prop_oneof![Just(json!("2024-05-01T10:00:00")), Just(json!("now"))].boxed(),
        "time" => Just(json!("08:30")).boxed(),
        "uuid" => Just(json!("123e4567-e89b-12d3-a456-426614174000")).boxed(),
        "json" => prop_oneof![
            Just(json!({"a": [1, "x"]})),
            Just(json!([])),
            Just(json!(3))
        ]
        .boxed(),
        "email" => Just(json!("team@example.com")).boxed(),
        "url" => Just(json!("https://example.com/a \"quoted\" path")).boxed(),
        _ => Just(json!("it's a \"default\"\n")).boxed(),
    };
    prop_oneof![3 => Just(None), 1 => value.prop_map(Some)].boxed()
}

fn field(name: &'static str) -> impl Strategy<Value = Value> {
    (
        0..TYPES.len(),
        any::<bool>(),
        prop::bool::weighted(0.2),
        bound(),
        bound(),
        prop::option::of(1u32..300),
    )
        .prop_flat_map(move |(t, required, unique, min, max, max_length)| {
            let kind = TYPES[t];
            default_for(kind).prop_map(move |default| {
                let mut field = Map::new();
                field.insert("name".into(), json!(name));
                field.insert("type".into(), json!(kind));
                field.insert("required".into(), json!(required));
                field.insert("unique".into(), json!(unique && kind != "json"));
                if kind == "enum" {
                    field.insert(
                        "enum_values".into(),
                        json!(["draft", "in progress", "1st", "Done!"]),
                    );
                }
                if matches!(kind, "integer" | "float" | "decimal") {
                    let (lo, hi) = match (min, max) {
                        (Some(a), Some(b)) if a > b => (Some(b), Some(a)),
                        other => other,
                    };
                    field.insert("min".into(), json!(lo));
                    field.insert("max".into(), json!(hi));
                }
                if matches!(kind, "string" | "text") {
                    field.insert("max_length".into(), json!(max_length.map(|n| n.max(8))));
                }
                if let Some(d) = &default {
                    field.insert("default".into(), d.clone());
                }
                Value::Object(field)
            })
        })
}

fn entity(name: &'static str) -> impl Strategy<Value = Value> {
    prop::sample::subsequence(FIELD_NAMES, 0..7)
        .prop_flat_map(|names| names.into_iter().map(field).collect::<Vec<_>>())
        .prop_map(move |fields| json!({"name": name, "fields": fields}))
}

fn relation(n_entities: usize) -> impl Strategy<Value = Value> {
    (
        0..3usize,
        0..n_entities,
        0..n_entities,
        0..RELATION_FIELDS.len(),
        any::<bool>(),
        0..3usize,
    )
        .prop_map(|(kind, from, to, field, required, on_delete)| {
            let kind = ["many_to_one", "many_to_many", "one_to_one"][kind];
            let on_delete = ["cascade", "set_null", "restrict"][on_delete];
            json!({
                "kind": kind,
                "from": from,
                "to": to,
                "field": RELATION_FIELDS[field],
                "required": required,
                "on_delete": on_delete,
            })
        })
}

fn spec() -> impl Strategy<Value = Value> {
    prop::sample::subsequence(ENTITY_NAMES, 1..5)
        .prop_flat_map(|names| {
            let n = names.len();
            (
                names.into_iter().map(entity).collect::<Vec<_>>(),
                prop::collection::vec(relation(n), 0..6),
                any::<bool>(),
                prop::sample::subsequence(ROLES, 0..3),
                0..3usize,
            )
        })
        .prop_map(|(entities, relations, auth, roles, db)| {
            let names: Vec<Value> = entities.iter().map(|e| e["name"].clone()).collect();
            let relations: Vec<Value> = relations
                .into_iter()
                .map(|mut r| {
                    for side in ["from", "to"] {
                        let index = r[side].as_u64().unwrap_or(0) as usize;
                        r[side] = names[index].clone();
                    }
                    r
                })
                .collect();
            let db = ["sqlite", "postgresql", "mysql"][db];
            json!({
                "version": 1,
                "name": "prop_app",
                "description": "A \"generated\" app\\with odd text",
                "entities": entities,
                "relations": relations,
                "auth": {"enabled": auth, "roles": if auth { roles } else { Vec::new() }},
                "options": {"db": db},
            })
        })
}

fn python() -> String {
    std::env::var("CODEBEGEN_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn python_available() -> bool {
    Command::new(python())
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

const COMPILE_ALL: &str = "import compileall, sys\n\
ok = compileall.compile_dir(sys.argv[1], quiet=1, force=True, legacy=True)\n\
sys.exit(0 if ok else 1)\n";

fn compiles(dir: &Path) -> Result<(), String> {
    let output = Command::new(python())
        .args(["-c", COMPILE_ALL])
        .arg(dir)
        .output()
        .map_err(|err| format!("cannot run python: {err}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// Model modules in a rendered tree (one per entity).
fn model_modules(tree: &codebegen_pipeline::FileTree) -> usize {
    let shared = ["app/models/__init__.py", "app/models/associations.py"];
    tree.iter()
        .filter(|(path, _)| path.starts_with("app/models/") && !shared.contains(path))
        .count()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_valid_specs_render_compilable_python(raw in spec()) {
        let validation = codebegen_schema::check_value(&raw);
        prop_assume!(validation.spec.is_some());
        let spec = validation.spec.expect("assumed above");
        let tree = render(&spec, &RenderOptions::default()).expect("valid specs always render");
        prop_assert!(tree.get("app/main.py").is_some());
        prop_assert_eq!(model_modules(&tree), spec.spec().entities.len());
        if !python_available() {
            eprintln!("skipped the compile check: {} not found", python());
            return Ok(());
        }
        let dir = tempfile::tempdir().expect("temp dir");
        for (path, content) in tree.iter() {
            let file = dir.path().join(path);
            std::fs::create_dir_all(file.parent().expect("files have parents")).expect("mkdir");
            std::fs::write(&file, content).expect("write");
        }
        if let Err(message) = compiles(dir.path()) {
            let spec = spec.spec().to_json_pretty();
            prop_assert!(false, "generated Python does not compile:\n{}\nspec: {}", message, spec);
        }
    }
}
