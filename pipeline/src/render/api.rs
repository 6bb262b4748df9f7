//! The service and router side of one entity: list filters, parent checks, nested routes, link
//! routes and which dependency guards each write.

use codebegen_schema::{Entity, FieldType, RelationKind};
use serde::Serialize;

use super::context::Cx;
use super::pyfmt::{call, kw, raw, stmt, Py};
use super::pylit::py_str;

/// Service and router facts of one entity.
#[derive(Debug, Serialize)]
pub struct ApiView {
    /// `router = APIRouter(prefix=..., tags=[...])`.
    pub router: String,
    /// `LIST_SPEC = base.ListSpec(...)`.
    pub list_spec: String,
    /// `PARENTS = (...)` when the entity has foreign keys, else empty.
    pub parents: String,
    /// Guard of `POST` (a `Depends` value), when auth is on.
    pub create_guard: Option<String>,
    /// Guard of `PATCH`, link and unlink.
    pub write_guard: Option<String>,
    /// Guard of `DELETE`.
    pub delete_guard: Option<String>,
    /// Nested list routes (children, and both sides of many-to-many).
    pub related: Vec<RelatedView>,
}

/// A nested list route `GET /<table>/{item_id}/<attr>`, maybe with link routes.
#[derive(Debug, Serialize)]
pub struct RelatedView {
    /// The route segment and relationship attribute.
    pub attr: String,
    /// Class of the listed rows.
    pub target: String,
    /// `stmt = sa.select(...).where(...)`, indented for a function body.
    pub query: String,
    /// Whether `PUT`/`DELETE /{item_id}/<attr>/{other_id}` exist (many-to-many, `from` side).
    pub link: bool,
}

/// The API view of one entity.
pub fn api_view(cx: &Cx, entity: &Entity) -> ApiView {
    let names = |pred: &dyn Fn(FieldType) -> bool| -> Vec<Py> {
        entity
            .fields
            .iter()
            .filter(|f| pred(f.field_type))
            .map(|f| raw(py_str(&f.name)))
            .collect()
    };
    let mut equality = names(&|t| t != FieldType::Json);
    equality.extend(
        cx.foreign_keys(&entity.name)
            .filter_map(|r| r.fk_column.as_deref())
            .map(|fk| raw(py_str(fk))),
    );
    let ranges = names(&|t| t.is_ordered());
    let search = names(&FieldType::is_textual);
    let mut args = Vec::new();
    for (name, items) in [
        ("equality", equality),
        ("ranges", ranges),
        ("search", search),
    ] {
        if !items.is_empty() {
            args.push(kw(name, Py::Tuple(items)));
        }
    }
    let list_spec = stmt(0, "LIST_SPEC = ", &call("base.ListSpec", args));

    let parent_items: Vec<Py> = cx
        .foreign_keys(&entity.name)
        .filter_map(|r| {
            let fk = r.fk_column.as_deref()?;
            Some(Py::Tuple(vec![
                raw(py_str(fk)),
                raw(format!("models.{}", r.to)),
            ]))
        })
        .collect();
    let parents = if parent_items.is_empty() {
        String::new()
    } else {
        stmt(0, "PARENTS = ", &Py::Tuple(parent_items))
    };

    let auth = cx.spec.auth.enabled;
    let bootstrap = auth && cx.user_parents().contains(&entity.name);
    let guard = |name: &str| auth.then(|| format!("deps.{name}"));
    let delete = if cx.spec.auth.roles.is_empty() {
        "require_user"
    } else {
        "require_admin"
    };
    let table = raw(py_str(&entity.table));
    let router_args = vec![
        kw("prefix", raw(py_str(&format!("/{}", entity.table)))),
        kw("tags", Py::List(vec![table])),
    ];
    ApiView {
        router: stmt(0, "router = ", &call("APIRouter", router_args)),
        list_spec,
        parents,
        create_guard: guard(if bootstrap {
            "require_user_or_bootstrap"
        } else {
            "require_user"
        }),
        write_guard: guard("require_user"),
        delete_guard: guard(delete),
        related: related(cx, entity),
    }
}

fn related(cx: &Cx, entity: &Entity) -> Vec<RelatedView> {
    let mut out = Vec::new();
    let query = |target: &str, condition: String| {
        let select = format!("sa.select(models.{target}).where");
        stmt(4, "stmt = ", &call(select, vec![raw(condition)]))
    };
    for rel in &cx.relations {
        match rel.kind {
            RelationKind::ManyToOne | RelationKind::OneToOne => {
                let Some(fk) = &rel.fk_column else { continue };
                if rel.to == entity.name {
                    out.push(RelatedView {
                        attr: rel.to_attr.clone(),
                        target: rel.from.clone(),
                        query: query(&rel.from, format!("models.{}.{fk} == item_id", rel.from)),
                        link: false,
                    });
                }
            }
            RelationKind::ManyToMany => {
                if rel.from == entity.name {
                    let condition = format!(
                        "models.{}.{}.any(models.{}.id == item_id)",
                        rel.to, rel.to_attr, rel.from
                    );
                    out.push(RelatedView {
                        attr: rel.from_attr.clone(),
                        target: rel.to.clone(),
                        query: query(&rel.to, condition),
                        link: true,
                    });
                }
                if rel.to == entity.name {
                    let condition = format!(
                        "models.{}.{}.any(models.{}.id == item_id)",
                        rel.from, rel.from_attr, rel.to
                    );
                    out.push(RelatedView {
                        attr: rel.to_attr.clone(),
                        target: rel.from.clone(),
                        query: query(&rel.from, condition),
                        link: false,
                    });
                }
            }
        }
    }
    out
}
