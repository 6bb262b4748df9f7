//! Corpus cases (`pipeline/corpus/*.jsonl`, one JSON object a line; the format is in
//! `pipeline/corpus/README.md`) and the sets `bench extract` reads them from.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

/// One prompt and its gold spec.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// Unique across the set.
    pub id: String,
    /// What the user typed.
    pub prompt: String,
    /// `dev` or `test`.
    pub split: Option<String>,
    /// How the prompt is written (`narrative`, `terse`, ...).
    pub style: Option<String>,
    /// The gold entities, PascalCase.
    pub entities: Vec<String>,
    /// `[A, B, kind]`.
    pub relations: Vec<[String; 3]>,
    /// Entity → the fields that must be found, in the order the case lists them.
    pub fields: Vec<(String, Vec<String>)>,
    /// Entity → field → spec type, for fields whose type is scored.
    pub field_types: BTreeMap<String, BTreeMap<String, String>>,
    /// `Entity.field` → the values the prompt lists.
    pub enums: BTreeMap<String, Vec<String>>,
    /// Whether the prompt asks for login.
    pub auth: bool,
}

/// The line as written; `fields` keeps its order (serde_json preserves it).
#[derive(Deserialize)]
struct RawCase {
    id: String,
    prompt: String,
    #[serde(default)]
    split: Option<String>,
    #[serde(default)]
    style: Option<String>,
    #[serde(default)]
    entities: Vec<String>,
    #[serde(default)]
    relations: Vec<[String; 3]>,
    #[serde(default)]
    fields: Map<String, Value>,
    #[serde(default)]
    field_types: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(default)]
    enums: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    auth: Option<Value>,
}

impl Case {
    /// Reads one line of a case file.
    pub fn parse(line: &str) -> Result<Case, String> {
        let raw: RawCase = serde_json::from_str(line).map_err(|e| e.to_string())?;
        let mut fields = Vec::new();
        for (entity, names) in raw.fields {
            let names: Vec<String> = serde_json::from_value(names)
                .map_err(|_| format!("fields of {entity} must be a list of names"))?;
            fields.push((entity, names));
        }
        Ok(Case {
            id: raw.id,
            prompt: raw.prompt,
            split: raw.split,
            style: raw.style,
            entities: raw.entities,
            relations: raw.relations,
            fields,
            field_types: raw.field_types,
            enums: raw.enums,
            // The script reads `case.get("auth")` for its truth.
            auth: super::score::truthy(raw.auth.as_ref()),
        })
    }
}

/// Reads every case of `files`, in order. A line that does not parse or an id seen before is an
/// error naming the file and line.
pub fn load(files: &[PathBuf]) -> Result<Vec<Case>, String> {
    let mut cases = Vec::new();
    let mut ids = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("reading {}: {e}", file.display()))?;
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let case =
                Case::parse(line).map_err(|e| format!("{}:{}: {e}", file.display(), n + 1))?;
            if !ids.insert(case.id.clone()) {
                return Err(format!(
                    "{}:{}: the id {} is already in the set",
                    file.display(),
                    n + 1,
                    case.id
                ));
            }
            cases.push(case);
        }
    }
    Ok(cases)
}

/// The default set: every `*.jsonl` file directly in `dir`, sorted by name (sub-folders such
/// as drafts are not read).
pub fn default_set(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("reading the corpus {}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_file() && path.extension().is_some_and(|ext| ext == "jsonl"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("no *.jsonl case files in {}", dir.display()));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_keeps_its_field_order_and_reads_auth_like_python() {
        let case = Case::parse(
            r#"{"id": "a", "prompt": "p", "entities": ["Zoo", "Ant"],
                "fields": {"Zoo": ["name"], "Ant": ["legs", "colour"]}, "auth": 1}"#,
        )
        .expect("parses");
        assert_eq!(
            case.fields,
            vec![
                ("Zoo".to_string(), vec!["name".to_string()]),
                (
                    "Ant".to_string(),
                    vec!["legs".to_string(), "colour".to_string()]
                ),
            ]
        );
        assert!(case.auth);
        let case = Case::parse(r#"{"id": "b", "prompt": "p", "auth": null}"#).expect("parses");
        assert!(!case.auth && case.entities.is_empty());
        assert!(Case::parse(r#"{"id": "c"}"#).is_err(), "no prompt");
        assert!(Case::parse(r#"{"id": "d", "prompt": "p", "fields": {"A": "x"}}"#).is_err());
    }

    #[test]
    fn the_set_is_the_jsonl_files_of_the_folder_and_ids_are_unique() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("draft")).expect("mkdir");
        std::fs::write(dir.path().join("draft/x.jsonl"), "{}").expect("write");
        std::fs::write(dir.path().join("notes.md"), "").expect("write");
        let line = |id: &str| format!("{{\"id\": \"{id}\", \"prompt\": \"p\"}}\n");
        std::fs::write(dir.path().join("test.jsonl"), line("t1")).expect("write");
        std::fs::write(
            dir.path().join("dev.jsonl"),
            line("d1") + "\n" + &line("d2"),
        )
        .expect("write");
        let files = default_set(dir.path()).expect("two files");
        assert_eq!(
            files,
            vec![dir.path().join("dev.jsonl"), dir.path().join("test.jsonl")]
        );
        let ids: Vec<String> = load(&files)
            .expect("loads")
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(ids, ["d1", "d2", "t1"]);
        std::fs::write(dir.path().join("more.jsonl"), line("t1")).expect("write");
        let err = load(&default_set(dir.path()).expect("files")).expect_err("duplicate");
        assert!(err.contains("t1"), "{err}");
        assert!(default_set(&dir.path().join("draft/none")).is_err());
    }
}
