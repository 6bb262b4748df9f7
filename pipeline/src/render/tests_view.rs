//! What the generated tests exercise for one entity: factory values, which field each test
//! filters, patches or clashes on, and the relation tests. Every choice depends only on the spec,
//! so tests pass for any valid spec.

use codebegen_schema::{Entity, Field, FieldType, OnDelete, RelationKind};
use serde::Serialize;

use super::context::Cx;
use super::fields::FieldPy;
use super::pyfmt::{raw, stmt, Py};
use super::pylit::py_str;
use super::samples::{left_empty, sample_expr, varies};

/// Test facts of one entity.
#[derive(Debug, Serialize)]
pub struct TestsView {
    /// Factory name suffix (`make_<factory>`, `<factory>_payload`).
    pub factory: String,
    /// `"key": expression in n,` lines of the factory values, indented for a dict literal.
    pub values: Vec<String>,
    /// Required foreign keys: `(key literal, parent factory)`.
    pub parents: Vec<(String, String)>,
    /// Where rows are created (`/api/v1/<table>`, or the register route for the auth user).
    pub create_url: String,
    /// `FIELDS = (...)`: fields that come back exactly as sent (empty when none).
    pub exact_fields: String,
    /// `DECIMAL_FIELDS = (...)`: decimal fields, compared as numbers (empty when none).
    pub decimal_fields: String,
    /// A field that rejects a JSON object as its value (key literal).
    pub invalid_field: Option<String>,
    /// Whether `{}` is an invalid create body.
    pub needs_body: bool,
    /// The field the update test changes (key literal) and whether it is a decimal.
    pub patch: Option<(String, bool)>,
    /// A required field that `PATCH` may not set to null (key literal).
    pub not_null_field: Option<String>,
    /// The equality-filter field (key literal) and whether two factory rows differ in it.
    pub eq_field: Option<(String, bool)>,
    /// A foreign key to filter on: `(key literal, parent factory)`.
    pub fk_filter: Option<(String, String)>,
    /// The range-filter field (plain name).
    pub range_field: Option<String>,
    /// The searched field (key literal).
    pub search_field: Option<String>,
    /// A field to sort by (plain name).
    pub sort_field: String,
    /// A unique field to clash on (key literal).
    pub unique_field: Option<String>,
    /// Children relations where this entity is the parent.
    pub children: Vec<ChildTest>,
    /// Many-to-many relations where this entity is the `from` side.
    pub links: Vec<LinkTest>,
}

/// A parent-children relation test.
#[derive(Debug, Serialize)]
pub struct ChildTest {
    /// Nested route segment.
    pub attr: String,
    /// Child factory.
    pub child_factory: String,
    /// Foreign-key key literal on the child.
    pub column: String,
    /// Child collection URL.
    pub child_url: String,
    /// `cascade`, `set_null` or `restrict`.
    pub on_delete: &'static str,
    /// Whether the test client may delete the parent (not so for users deleting others without
    /// roles).
    pub delete_test: bool,
}

/// A many-to-many link test.
#[derive(Debug, Serialize)]
pub struct LinkTest {
    /// Route segment on this side.
    pub attr: String,
    /// Other side's factory.
    pub other_factory: String,
    /// Other side's collection URL.
    pub other_url: String,
    /// Route segment on the other side.
    pub back_attr: String,
}

fn key(name: &str) -> String {
    py_str(name)
}

fn is_decimal(field: &&Field) -> bool {
    field.field_type == FieldType::Decimal
}

fn names_constant(target: &str, fields: &[&Field]) -> String {
    if fields.is_empty() {
        return String::new();
    }
    let items: Vec<Py> = fields.iter().map(|f| raw(key(&f.name))).collect();
    stmt(0, &format!("{target} = "), &Py::Tuple(items))
}

/// The tests view of one entity.
pub fn tests_view(cx: &Cx, entity: &Entity) -> TestsView {
    let fields = &entity.fields;
    let usable = |f: &&Field| !left_empty(f);
    let non_json = |f: &&Field| f.field_type != FieldType::Json;
    let is_user = cx.is_user(&entity.name);
    let factory = |name: &str| cx.module(name);
    let fks: Vec<_> = cx.foreign_keys(&entity.name).collect();
    let parents: Vec<(String, String)> = fks
        .iter()
        .filter(|r| cx.required(r))
        .filter_map(|r| Some((key(r.fk_column.as_deref()?), factory(&r.to))))
        .collect();
    let has_default = |f: &Field| {
        let aliases = super::fields::Aliases::avoiding(&Default::default());
        FieldPy {
            field: f,
            enum_class: String::new(),
            aliases: &aliases,
        }
        .default()
        .is_some()
    };
    let needs_body =
        is_user || !parents.is_empty() || fields.iter().any(|f| f.required && !has_default(f));
    let not_null_field = fields
        .iter()
        .filter(non_json)
        .find(|f| f.required)
        .map(|f| key(&f.name))
        .or_else(|| parents.first().map(|(k, _)| k.clone()));
    let eq = fields
        .iter()
        .filter(non_json)
        .filter(usable)
        .find(|f| varies(f));
    let eq = eq.or_else(|| fields.iter().filter(non_json).find(usable));
    let range = fields
        .iter()
        .filter(|f| f.field_type.is_ordered())
        .filter(usable)
        .find(|f| varies(f))
        .or_else(|| {
            fields
                .iter()
                .filter(|f| f.field_type.is_ordered())
                .find(usable)
        });
    let children = cx
        .relations
        .iter()
        .filter(|r| r.to == entity.name && r.kind != RelationKind::ManyToMany)
        .filter_map(|r| {
            Some(ChildTest {
                attr: r.to_attr.clone(),
                child_factory: factory(&r.from),
                column: key(r.fk_column.as_deref()?),
                child_url: format!("/api/v1/{}", r.from_table),
                on_delete: match cx.on_delete(r) {
                    OnDelete::Cascade => "cascade",
                    OnDelete::SetNull => "set_null",
                    OnDelete::Restrict => "restrict",
                },
                delete_test: !(is_user && cx.spec.auth.roles.is_empty()),
            })
        })
        .collect();
    let links = cx
        .relations
        .iter()
        .filter(|r| r.from == entity.name && r.kind == RelationKind::ManyToMany)
        .map(|r| LinkTest {
            attr: r.from_attr.clone(),
            other_factory: factory(&r.to),
            other_url: format!("/api/v1/{}", r.to_table),
            back_attr: r.to_attr.clone(),
        })
        .collect();
    TestsView {
        factory: factory(&entity.name),
        values: fields
            .iter()
            .map(|f| {
                format!(
                    "        {}",
                    sample_expr(f).layout(8, &format!("{}: ", key(&f.name)), ",")
                )
            })
            .collect(),
        create_url: if is_user {
            "/api/v1/auth/register".into()
        } else {
            format!("/api/v1/{}", entity.table)
        },
        exact_fields: names_constant(
            "FIELDS",
            &fields.iter().filter(|f| !is_decimal(f)).collect::<Vec<_>>(),
        ),
        decimal_fields: names_constant(
            "DECIMAL_FIELDS",
            &fields.iter().filter(is_decimal).collect::<Vec<_>>(),
        ),
        invalid_field: fields.iter().find(non_json).map(|f| key(&f.name)),
        needs_body,
        patch: fields
            .iter()
            .find(usable)
            .map(|f| (key(&f.name), is_decimal(&f))),
        not_null_field,
        eq_field: eq.map(|f| (key(&f.name), varies(f))),
        fk_filter: fks
            .first()
            .and_then(|r| Some((key(r.fk_column.as_deref()?), factory(&r.to)))),
        range_field: range.map(|f| f.name.clone()),
        search_field: fields
            .iter()
            .find(|f| f.field_type.is_textual())
            .filter(usable)
            .map(|f| key(&f.name)),
        sort_field: fields
            .iter()
            .find(non_json)
            .map_or_else(|| "created_at".into(), |f| f.name.clone()),
        unique_field: fields
            .iter()
            .filter(non_json)
            .filter(usable)
            .find(|f| f.unique)
            .map(|f| key(&f.name)),
        parents,
        children,
        links,
    }
}
