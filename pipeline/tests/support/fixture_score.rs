//! Scores a spec against what `fixtures/prompts.json` expects of it: one point per expectation
//! met (name, each entity, each absent entity, each field with its type and constraints, each
//! relation, auth, roles). Shared by the hybrid-extraction tests here and in `actors`.

#![allow(dead_code)]

use codebegen_schema::{check, AppSpec, RelationKind};
use serde::Deserialize;

/// One fixture.
#[derive(Debug, Clone, Deserialize)]
pub struct Fixture {
    pub id: String,
    pub prompt: String,
    pub expect: Expect,
}

/// What a fixture expects.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Expect {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub entities: Vec<String>,
    #[serde(default)]
    pub absent: Vec<String>,
    #[serde(default)]
    pub fields: Vec<FieldExpect>,
    #[serde(default)]
    pub relations: Vec<RelationExpect>,
    #[serde(default)]
    pub auth: Option<bool>,
    #[serde(default)]
    pub roles: Option<Vec<String>>,
}

/// An expected field.
#[derive(Debug, Clone, Deserialize)]
pub struct FieldExpect {
    pub entity: String,
    pub name: String,
    #[serde(rename = "type")]
    pub field_type: String,
    #[serde(default)]
    pub required: Option<bool>,
    #[serde(default)]
    pub unique: Option<bool>,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    #[serde(default)]
    pub enum_values: Option<Vec<String>>,
}

/// An expected relation.
#[derive(Debug, Clone, Deserialize)]
pub struct RelationExpect {
    pub kind: String,
    pub from: String,
    pub to: String,
}

/// Every fixture.
pub fn fixtures() -> Vec<Fixture> {
    serde_json::from_str(include_str!("../../fixtures/prompts.json"))
        .expect("fixtures/prompts.json is valid")
}

/// (expectations met, expectations in all) for a spec as validation leaves it; a spec that does
/// not validate meets none.
pub fn score(spec: &AppSpec, expect: &Expect) -> (usize, usize) {
    let total = usize::from(expect.name.is_some())
        + expect.entities.len()
        + expect.absent.len()
        + expect.fields.len()
        + expect.relations.len()
        + usize::from(expect.auth.is_some())
        + usize::from(expect.roles.is_some());
    let Some(checked) = check(spec).spec else {
        return (0, total);
    };
    let spec = checked.spec();
    let mut met = 0;
    met += usize::from(expect.name.as_ref().is_some_and(|n| &spec.name == n));
    met += expect
        .entities
        .iter()
        .filter(|e| spec.entity(e).is_some())
        .count();
    met += expect
        .absent
        .iter()
        .filter(|e| spec.entity(e).is_none())
        .count();
    met += expect
        .fields
        .iter()
        .filter(|want| {
            spec.entity(&want.entity)
                .and_then(|e| e.field(&want.name))
                .is_some_and(|f| {
                    f.field_type.as_str() == want.field_type
                        && want.required.is_none_or(|r| r == f.required)
                        && want.unique.is_none_or(|u| u == f.unique)
                        && (want.min.is_none() || want.min == f.min)
                        && (want.max.is_none() || want.max == f.max)
                        && (want.enum_values.is_none() || want.enum_values == f.enum_values)
                })
        })
        .count();
    met += expect
        .relations
        .iter()
        .filter(|want| {
            let kind = match want.kind.as_str() {
                "many_to_one" => RelationKind::ManyToOne,
                "many_to_many" => RelationKind::ManyToMany,
                "one_to_one" => RelationKind::OneToOne,
                other => panic!("unknown relation kind {other} in fixture"),
            };
            spec.relations.iter().any(|r| {
                r.kind == kind
                    && ((r.from == want.from && r.to == want.to)
                        || (kind == RelationKind::ManyToMany
                            && r.from == want.to
                            && r.to == want.from))
            })
        })
        .count();
    met += usize::from(expect.auth.is_some_and(|a| a == spec.auth.enabled));
    met += usize::from(expect.roles.as_ref().is_some_and(|r| &spec.auth.roles == r));
    (met, total)
}
