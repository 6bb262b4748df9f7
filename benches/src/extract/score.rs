//! The scoring rules of `../shared/eval/spec_score.py`, rule for rule, over a spec as JSON (the
//! script reads any JSON, so this does too): `norm`, `entity_keys`, the alias from an extracted
//! name to the gold name it stands for, relation tuples with direction, the field prefix rule,
//! entity precision without the `User` that auth adds, and relation precision counting only
//! extras between gold entities or many-to-many. Its summary is the script's, key for key; the
//! figures the script does not compute (field types, enum values) come after them.
//!
//! Python's truthiness and `str()` of JSON values are spelled out where the script relies on
//! them, so odd specs (a null name, `"auth": "yes"`) score the same in both.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use super::corpus::Case;

/// The script's `norm`: lower case, letters and digits only, then a plain singular (`ies` → `y`;
/// `sses`, `xes`, `ches`, `shes` lose `es`; a trailing `s` goes), leaving words that end in
/// series, species, news or status as they are.
pub fn norm(name: &str) -> String {
    let n = strip(name);
    if ["series", "species", "news", "status"]
        .iter()
        .any(|end| n.ends_with(end))
    {
        return n;
    }
    if n.ends_with("ies") && n.len() > 4 {
        format!("{}y", &n[..n.len() - 3])
    } else if ["sses", "xes", "ches", "shes"]
        .iter()
        .any(|end| n.ends_with(end))
    {
        n[..n.len() - 2].to_string()
    } else if n.ends_with('s') && !n.ends_with("ss") && n.len() > 3 {
        n[..n.len() - 1].to_string()
    } else {
        n
    }
}

/// Lower case, then only `[a-z0-9]` (the script's `re.sub(r"[^a-z0-9]", "", s.lower())`).
fn strip(name: &str) -> String {
    name.to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        .collect()
}

/// The script's `entity_keys`: the normalised name, and its base when a reserved word was
/// renamed by adding `Record` (`ClassRecord` also stands for `Class`). The name itself first.
fn entity_keys(name: &str) -> Vec<String> {
    let n = norm(name);
    let mut keys = vec![n.clone()];
    if n.ends_with("record") && n.len() > "record".len() {
        keys.push(n[..n.len() - "record".len()].to_string());
    }
    keys
}

/// Python's `str()` of a JSON value, as far as names go.
fn py_str(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        other => other.to_string(),
    }
}

/// Python's truthiness of a JSON value.
pub(crate) fn truthy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|x| x != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
}

/// `d.get(key, default)` chained the way the script writes `r.get("from", r.get("source", ""))`.
fn get_either<'v>(object: &'v Value, key: &str, fallback: &str) -> Option<&'v Value> {
    object.get(key).or_else(|| object.get(fallback))
}

/// `spec.get(key, []) or []` as a slice of the objects in it.
fn list(value: Option<&Value>) -> Vec<&Value> {
    match value {
        Some(Value::Array(items)) => items.iter().filter(|v| v.is_object()).collect(),
        _ => Vec::new(),
    }
}

/// A relation as the script compares them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum RelKey {
    /// `("m2o", child, parent)`.
    ManyToOne(String, String),
    /// `("m2m", a, b)` with `a <= b`.
    ManyToMany(String, String),
}

impl RelKey {
    fn many_to_many(a: String, b: String) -> RelKey {
        if a <= b {
            RelKey::ManyToMany(a, b)
        } else {
            RelKey::ManyToMany(b, a)
        }
    }

    /// Python's `str()` of the tuple, which is how the script lists missing relations.
    fn python_repr(&self) -> String {
        match self {
            RelKey::ManyToOne(a, b) => format!("('m2o', '{a}', '{b}')"),
            RelKey::ManyToMany(a, b) => format!("('m2m', '{a}', '{b}')"),
        }
    }
}

/// One case's counts and misses. The script's keys first, in its order; ours after.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseScore {
    /// Gold entities (distinct after normalising).
    pub ent_exp: usize,
    /// Gold entities found.
    pub ent_hit: usize,
    /// Extracted entities not in the gold (the auth `User` aside).
    pub ent_extra: usize,
    /// Gold relations.
    pub rel_exp: usize,
    /// Gold relations found, direction counted.
    pub rel_hit: usize,
    /// Extracted relations not in the gold, between gold entities or many-to-many.
    pub rel_extra: usize,
    /// Gold fields.
    pub field_exp: usize,
    /// Gold fields found.
    pub field_hit: usize,
    /// Whether auth was found, for a case that asks for it.
    pub auth_ok: Option<bool>,
    /// Gold entities not found, normalised, sorted.
    pub missing_entities: Vec<String>,
    /// Extra entities, normalised, sorted.
    pub extra_entities: Vec<String>,
    /// Gold relations not found, as the script prints them, sorted.
    pub missing_relations: Vec<String>,
    /// `Entity.field` of gold fields not found, in the case's order.
    pub missing_fields: Vec<String>,
    /// The case id.
    pub id: String,
    /// The case style.
    pub style: Option<String>,
    /// Found fields that have a gold type.
    pub type_exp: usize,
    /// Of those, the ones whose type is the gold type.
    pub type_hit: usize,
    /// `Entity.field: got → gold` for found fields of another type.
    pub wrong_types: Vec<String>,
    /// Gold enum values.
    pub enum_exp: usize,
    /// Gold enum values found on the matching field.
    pub enum_hit: usize,
    /// `Entity.field=value` of gold enum values not found.
    pub missing_enum_values: Vec<String>,
}

/// Scores `spec` (any JSON; `{}` when there is none) against `case`.
pub fn score(case: &Case, spec: &Value) -> CaseScore {
    let gold: BTreeSet<String> = case.entities.iter().map(|e| norm(e)).collect();
    let alias = |name: &str| -> String {
        entity_keys(name)
            .into_iter()
            .find(|key| gold.contains(key))
            .unwrap_or_else(|| norm(name))
    };
    let entities = list(spec.get("entities"));
    let name_of = |e: &Value| e.get("name").map(py_str).unwrap_or_default();
    let got: BTreeSet<String> = entities.iter().map(|&e| alias(&name_of(e))).collect();
    let ent_hit = gold.intersection(&got).count();
    let auth = spec.get("auth");
    let auth_user = case.auth
        || (auth.is_some_and(Value::is_object) && truthy(auth.and_then(|a| a.get("enabled"))));
    let extra: Vec<String> = got
        .difference(&gold)
        .filter(|e| !(auth_user && e.as_str() == "user"))
        .cloned()
        .collect();

    let rels_gold: BTreeSet<RelKey> = case
        .relations
        .iter()
        .map(|[a, b, kind]| match kind.to_lowercase().as_str() {
            "many_to_many" => RelKey::many_to_many(norm(a), norm(b)),
            "one_to_many" => RelKey::ManyToOne(norm(b), norm(a)),
            _ => RelKey::ManyToOne(norm(a), norm(b)),
        })
        .collect();
    let rels_got = rel_tuples(spec, &alias);
    let rel_hit = rels_gold.intersection(&rels_got).count();
    let rel_extra = rels_got
        .iter()
        .filter(|r| match r {
            RelKey::ManyToMany(..) => true,
            RelKey::ManyToOne(a, b) => gold.contains(a) && gold.contains(b),
        })
        .filter(|r| !rels_gold.contains(r))
        .count();

    let mut by_name: BTreeMap<String, &Value> = BTreeMap::new();
    for &e in &entities {
        by_name.entry(alias(&name_of(e))).or_insert(e);
    }
    let mut fields = FieldTally::default();
    for (entity, gold_fields) in &case.fields {
        let got_fields: Vec<(String, &Value)> = by_name
            .get(&norm(entity))
            .map(|e| list(e.get("fields")))
            .unwrap_or_default()
            .into_iter()
            .map(|f| (strip(&f.get("name").map(py_str).unwrap_or_default()), f))
            .collect();
        for field in gold_fields {
            fields.tally(case, entity, field, &got_fields);
        }
    }

    let auth_ok = case.auth.then(|| match auth {
        Some(a @ Value::Object(_)) => truthy(a.get("enabled")),
        other => truthy(other),
    });
    let mut missing_relations: Vec<String> = rels_gold
        .difference(&rels_got)
        .map(RelKey::python_repr)
        .collect();
    missing_relations.sort();
    CaseScore {
        ent_exp: gold.len(),
        ent_hit,
        ent_extra: extra.len(),
        rel_exp: rels_gold.len(),
        rel_hit,
        rel_extra,
        field_exp: fields.expected,
        field_hit: fields.hit,
        auth_ok,
        missing_entities: gold.difference(&got).cloned().collect(),
        extra_entities: extra,
        missing_relations,
        missing_fields: fields.missing,
        id: case.id.clone(),
        style: case.style.clone(),
        type_exp: fields.type_expected,
        type_hit: fields.type_hit,
        wrong_types: fields.wrong_types,
        enum_exp: fields.enum_expected,
        enum_hit: fields.enum_hit,
        missing_enum_values: fields.missing_enum_values,
    }
}

/// The script's `rel_tuples`: `relations` (or `relationships`), `kind` (or `type`), `from` (or
/// `source`) and `to` (or `target`); a one-to-one counts in both directions.
fn rel_tuples(spec: &Value, alias: &dyn Fn(&str) -> String) -> BTreeSet<RelKey> {
    let mut out = BTreeSet::new();
    for r in list(get_either(spec, "relations", "relationships")) {
        let kind = get_either(r, "kind", "type")
            .map(py_str)
            .unwrap_or_default()
            .to_lowercase()
            .replace('-', "_");
        let end =
            |key, fallback| alias(&get_either(r, key, fallback).map(py_str).unwrap_or_default());
        let (a, b) = (end("from", "source"), end("to", "target"));
        match kind.as_str() {
            "many_to_many" | "manytomany" | "m2m" | "n_m" => {
                out.insert(RelKey::many_to_many(a, b));
            }
            "one_to_many" | "onetomany" | "has_many" => {
                out.insert(RelKey::ManyToOne(b, a));
            }
            "one_to_one" | "onetoone" => {
                out.insert(RelKey::ManyToOne(b.clone(), a.clone()));
                out.insert(RelKey::ManyToOne(a, b));
            }
            _ => {
                out.insert(RelKey::ManyToOne(a, b));
            }
        }
    }
    out
}

/// The script's field rule: equal after stripping, or one a prefix of the other when the shorter
/// is longer than 3 characters.
fn field_matches(got: &str, gold: &str) -> bool {
    got == gold
        || (got.len().min(gold.len()) > 3 && (got.starts_with(gold) || gold.starts_with(got)))
}

/// Field counts of one case, with the type and enum checks on the field each gold field found.
#[derive(Default)]
struct FieldTally {
    expected: usize,
    hit: usize,
    missing: Vec<String>,
    type_expected: usize,
    type_hit: usize,
    wrong_types: Vec<String>,
    enum_expected: usize,
    enum_hit: usize,
    missing_enum_values: Vec<String>,
}

impl FieldTally {
    fn tally(&mut self, case: &Case, entity: &str, field: &str, got: &[(String, &Value)]) {
        let gold = strip(field);
        self.expected += 1;
        // The field it found: an equal name first, else the first the prefix rule takes.
        let found = got
            .iter()
            .find(|(name, _)| *name == gold)
            .or_else(|| got.iter().find(|(name, _)| field_matches(name, &gold)))
            .map(|(_, f)| *f);
        match found {
            Some(_) => self.hit += 1,
            None => self.missing.push(format!("{entity}.{field}")),
        }
        let key = format!("{entity}.{field}");
        let gold_type = case.field_types.get(entity).and_then(|t| t.get(field));
        if let (Some(found), Some(gold_type)) = (found, gold_type) {
            self.type_expected += 1;
            let got_type = found
                .get("type")
                .map(py_str)
                .unwrap_or_default()
                .to_lowercase();
            if got_type == gold_type.to_lowercase() {
                self.type_hit += 1;
            } else {
                self.wrong_types
                    .push(format!("{key}: {got_type} (gold {gold_type})"));
            }
        }
        if let Some(values) = case.enums.get(&key) {
            let got_values: Vec<String> = found
                .and_then(|f| f.get("enum_values"))
                .and_then(Value::as_array)
                .map(|vs| vs.iter().map(|v| strip(&py_str(v))).collect())
                .unwrap_or_default();
            for value in values {
                self.enum_expected += 1;
                if got_values.contains(&strip(value)) {
                    self.enum_hit += 1;
                } else {
                    self.missing_enum_values.push(format!("{key}={value}"));
                }
            }
        }
    }
}

/// The script's `round(a / b, 3) if b else None`.
pub fn ratio(hit: usize, total: usize) -> Option<f64> {
    (total > 0).then(|| round3(hit as f64 / total as f64))
}

/// Python's `round(x, 3)`: the nearest of the exact value, ties to even, which is what Rust's
/// `{:.3}` does too.
pub fn round3(x: f64) -> f64 {
    format!("{x:.3}").parse().unwrap_or(x)
}

/// Totals over cases: the script's `summarize`, key for key, then ours.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Cases scored.
    pub cases: usize,
    /// Entity recall.
    pub entity_recall: Option<f64>,
    /// Entity precision.
    pub entity_precision: Option<f64>,
    /// Relation recall, direction counted.
    pub relation_recall: Option<f64>,
    /// Relation precision.
    pub relation_precision: Option<f64>,
    /// Field recall.
    pub field_recall: Option<f64>,
    /// Auth found, over the cases that ask for it.
    pub auth_recall: Option<f64>,
    /// Sum of `ent_exp`.
    pub ent_exp: usize,
    /// Sum of `ent_hit`.
    pub ent_hit: usize,
    /// Sum of `ent_extra`.
    pub ent_extra: usize,
    /// Sum of `rel_exp`.
    pub rel_exp: usize,
    /// Sum of `rel_hit`.
    pub rel_hit: usize,
    /// Sum of `rel_extra`.
    pub rel_extra: usize,
    /// Sum of `field_exp`.
    pub field_exp: usize,
    /// Sum of `field_hit`.
    pub field_hit: usize,
    /// Type right, over found fields with a gold type.
    pub field_type_accuracy: Option<f64>,
    /// Enum values found, over gold enum values.
    pub enum_recall: Option<f64>,
    /// Sum of `type_exp`.
    pub type_exp: usize,
    /// Sum of `type_hit`.
    pub type_hit: usize,
    /// Sum of `enum_exp`.
    pub enum_exp: usize,
    /// Sum of `enum_hit`.
    pub enum_hit: usize,
}

/// Sums and ratios over `scores`.
pub fn summarize<'s>(scores: impl IntoIterator<Item = &'s CaseScore>) -> Summary {
    let scores: Vec<&CaseScore> = scores.into_iter().collect();
    let sum = |f: fn(&CaseScore) -> usize| scores.iter().copied().map(f).sum::<usize>();
    let (ent_exp, ent_hit, ent_extra) =
        (sum(|s| s.ent_exp), sum(|s| s.ent_hit), sum(|s| s.ent_extra));
    let (rel_exp, rel_hit, rel_extra) =
        (sum(|s| s.rel_exp), sum(|s| s.rel_hit), sum(|s| s.rel_extra));
    let (field_exp, field_hit) = (sum(|s| s.field_exp), sum(|s| s.field_hit));
    let (type_exp, type_hit) = (sum(|s| s.type_exp), sum(|s| s.type_hit));
    let (enum_exp, enum_hit) = (sum(|s| s.enum_exp), sum(|s| s.enum_hit));
    let auth: Vec<bool> = scores.iter().filter_map(|s| s.auth_ok).collect();
    Summary {
        cases: scores.len(),
        entity_recall: ratio(ent_hit, ent_exp),
        entity_precision: ratio(ent_hit, ent_hit + ent_extra),
        relation_recall: ratio(rel_hit, rel_exp),
        relation_precision: ratio(rel_hit, rel_hit + rel_extra),
        field_recall: ratio(field_hit, field_exp),
        auth_recall: ratio(auth.iter().filter(|ok| **ok).count(), auth.len()),
        ent_exp,
        ent_hit,
        ent_extra,
        rel_exp,
        rel_hit,
        rel_extra,
        field_exp,
        field_hit,
        field_type_accuracy: ratio(type_hit, type_exp),
        enum_recall: ratio(enum_hit, enum_exp),
        type_exp,
        type_hit,
        enum_exp,
        enum_hit,
    }
}

/// Summaries per style, for the styles present, sorted by name (the script's `by_style`).
pub fn by_style(scores: &[CaseScore]) -> BTreeMap<String, Summary> {
    let styles: BTreeSet<&str> = scores
        .iter()
        .filter_map(|s| s.style.as_deref())
        .filter(|style| !style.is_empty())
        .collect();
    styles
        .into_iter()
        .map(|style| {
            let of_style = scores.iter().filter(|s| s.style.as_deref() == Some(style));
            (style.to_string(), summarize(of_style))
        })
        .collect()
}

#[cfg(test)]
#[path = "score_tests.rs"]
mod tests;
