//! README pieces: the overview, the endpoint table, the mermaid ER diagram and curl examples.

use codebegen_schema::derived::list_query_params;
use codebegen_schema::names::humanize;
use codebegen_schema::{AppSpec, RelationKind};
use serde::Serialize;
use serde_json::{Map, Value};

use super::context::{with_article, Cx, EntityView};
use super::samples::sample_json;

/// README facts.
#[derive(Debug, Serialize)]
pub struct ReadmeView {
    /// Rows of the endpoint table.
    pub endpoints: Vec<Endpoint>,
    /// Lines of the mermaid `erDiagram` (without the fence).
    pub er_diagram: Vec<String>,
    /// Example `curl` commands (shell).
    pub curl: Vec<String>,
    /// Query parameters of the first entity's list endpoint, for the filter example.
    pub list_params: Vec<String>,
}

/// One row of the endpoint table.
#[derive(Debug, Serialize)]
pub struct Endpoint {
    /// HTTP method.
    pub method: &'static str,
    /// Path.
    pub path: String,
    /// Who may call it.
    pub access: &'static str,
    /// What it does.
    pub summary: String,
}

/// The overview paragraph when no model wrote one.
pub fn default_overview(spec: &AppSpec) -> String {
    let names: Vec<String> = spec
        .entities
        .iter()
        .map(|e| humanize(&e.table).to_lowercase())
        .collect();
    let what = if spec.description.trim().is_empty() {
        format!("A REST API for {}", list(&names))
    } else {
        format!(
            "{} A REST API for {}",
            ensure_period(spec.description.trim()),
            list(&names)
        )
    };
    let auth = if spec.auth.enabled {
        " Users register and log in with JWT bearer tokens; reads are public and writes need a \
         token."
    } else {
        ""
    };
    format!("{what}, built with FastAPI, SQLAlchemy 2 and Pydantic 2.{auth}")
}

fn ensure_period(text: &str) -> String {
    if text.ends_with(['.', '!', '?']) {
        text.to_string()
    } else {
        format!("{text}.")
    }
}

fn list(items: &[String]) -> String {
    match items {
        [] => "nothing yet".into(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The README view.
pub fn readme_view(cx: &Cx, entities: &[EntityView]) -> ReadmeView {
    let auth = cx.spec.auth.enabled;
    let write = if auth { "token" } else { "public" };
    let delete = if !auth {
        "public"
    } else if cx.spec.auth.roles.is_empty() {
        "token"
    } else {
        "first role"
    };
    let mut endpoints = vec![Endpoint {
        method: "GET",
        path: "/health".into(),
        access: "public",
        summary: "Liveness check".into(),
    }];
    if auth {
        let rows = [
            (
                "POST",
                "register",
                "public",
                "Create an account (the first one gets the first role)",
            ),
            (
                "POST",
                "login",
                "public",
                "OAuth2 password form (`username` = email) → bearer token",
            ),
            ("GET", "me", "token", "The current user"),
        ];
        for (method, path, access, summary) in rows {
            endpoints.push(Endpoint {
                method,
                path: format!("/api/v1/auth/{path}"),
                access,
                summary: summary.into(),
            });
        }
    }
    for e in entities {
        let url = &e.url;
        let mut row = |method, path: String, access, summary: String| {
            endpoints.push(Endpoint {
                method,
                path,
                access,
                summary,
            });
        };
        row(
            "GET",
            url.clone(),
            "public",
            format!("List {} (paging, filters, `q`, `sort`)", e.human_plural),
        );
        if e.creatable {
            row("POST", url.clone(), write, format!("Create {}", e.a_human));
        }
        row(
            "GET",
            format!("{url}/{{id}}"),
            "public",
            format!("Get {}", e.a_human),
        );
        let own = if e.is_user {
            "self or first role"
        } else {
            write
        };
        let own_delete = if e.is_user && auth && cx.spec.auth.roles.is_empty() {
            "self"
        } else {
            delete
        };
        row(
            "PATCH",
            format!("{url}/{{id}}"),
            own,
            format!("Update {}", e.a_human),
        );
        row(
            "DELETE",
            format!("{url}/{{id}}"),
            own_delete,
            format!("Delete {}", e.a_human),
        );
        for r in &e.api.related {
            row(
                "GET",
                format!("{url}/{{id}}/{}", r.attr),
                "public",
                format!("List its {}", humanize(&r.attr).to_lowercase()),
            );
            if r.link {
                let path = format!("{url}/{{id}}/{}/{{other_id}}", r.attr);
                row(
                    "PUT",
                    path.clone(),
                    write,
                    format!("Link {}", with_article(&humanize(&r.target).to_lowercase())),
                );
                row(
                    "DELETE",
                    path,
                    write,
                    format!(
                        "Unlink {}",
                        with_article(&humanize(&r.target).to_lowercase())
                    ),
                );
            }
        }
    }
    ReadmeView {
        endpoints,
        er_diagram: er_diagram(cx),
        curl: curl(cx, entities),
        list_params: cx
            .spec
            .entities
            .first()
            .map(|e| list_query_params(cx.spec, e))
            .unwrap_or_default(),
    }
}

fn er_diagram(cx: &Cx) -> Vec<String> {
    let mut lines = Vec::new();
    for entity in &cx.spec.entities {
        lines.push(format!("    {} {{", entity.name));
        lines.push("        int id PK".into());
        for field in &entity.fields {
            let marker = if field.unique { " UK" } else { "" };
            lines.push(format!(
                "        {} {}{marker}",
                field.field_type.as_str(),
                field.name
            ));
        }
        for rel in cx.foreign_keys(&entity.name) {
            if let Some(fk) = &rel.fk_column {
                lines.push(format!("        int {fk} FK"));
            }
        }
        lines.push("    }".into());
    }
    for rel in &cx.relations {
        let required = cx.required(rel);
        let (shape, label) = match rel.kind {
            RelationKind::ManyToOne => (
                if required { "||--o{" } else { "|o--o{" },
                rel.from_attr.clone(),
            ),
            RelationKind::OneToOne => (
                if required { "||--o|" } else { "|o--o|" },
                rel.from_attr.clone(),
            ),
            RelationKind::ManyToMany => ("}o--o{", rel.from_attr.clone()),
        };
        let (left, right) = match rel.kind {
            RelationKind::ManyToMany => (&rel.from, &rel.to),
            _ => (&rel.to, &rel.from),
        };
        lines.push(format!("    {left} {shape} {right} : \"{label}\""));
    }
    lines
}

fn curl(cx: &Cx, entities: &[EntityView]) -> Vec<String> {
    let base = "http://localhost:8000";
    let mut out = vec![format!("curl {base}/health")];
    let auth_header = if cx.spec.auth.enabled {
        " \\\n  -H \"Authorization: Bearer $TOKEN\""
    } else {
        ""
    };
    if cx.spec.auth.enabled {
        let user = cx.spec.entity(codebegen_schema::derived::USER_ENTITY);
        let mut body = user.map(|u| sample_body(cx, u)).unwrap_or_default();
        body.insert("email".into(), Value::String("admin@example.com".into()));
        body.insert("password".into(), Value::String("change-me-please".into()));
        out.push(format!(
            "curl -X POST {base}/api/v1/auth/register \\\n  \
             -H \"Content-Type: application/json\" \\\n  -d '{}'",
            shell_json(&Value::Object(body))
        ));
        out.push(format!(
            "TOKEN=$(curl -s -X POST {base}/api/v1/auth/login \\\n  \
             -d \"username=admin@example.com&password=change-me-please\" \\\n  \
             | python -c 'import json, sys; print(json.load(sys.stdin)[\"access_token\"])')"
        ));
    }
    if let Some(view) = entities.iter().find(|e| e.creatable) {
        if let Some(entity) = cx.spec.entity(&view.name) {
            let body = Value::Object(sample_body(cx, entity));
            out.push(format!(
                "curl -X POST {base}{}{auth_header} \\\n  \
                 -H \"Content-Type: application/json\" \\\n  -d '{}'",
                view.url,
                shell_json(&body)
            ));
        }
        let searchable = cx
            .spec
            .entity(&view.name)
            .is_some_and(|e| e.fields.iter().any(|f| f.field_type.is_textual()));
        let query = if searchable {
            "q=hello&limit=10&sort=-created_at"
        } else {
            "limit=10&sort=-created_at"
        };
        out.push(format!("curl \"{base}{}?{query}\"", view.url));
        out.push(format!("curl {base}{}/1", view.url));
    }
    out
}

fn sample_body(cx: &Cx, entity: &codebegen_schema::Entity) -> Map<String, Value> {
    let mut body = Map::new();
    for field in &entity.fields {
        body.insert(field.name.clone(), sample_json(field));
    }
    for rel in cx.foreign_keys(&entity.name) {
        if cx.required(rel) {
            if let Some(fk) = &rel.fk_column {
                body.insert(fk.clone(), Value::from(1));
            }
        }
    }
    body
}

/// Compact JSON that is safe inside single quotes in a shell.
fn shell_json(value: &Value) -> String {
    serde_json::to_string(value)
        .unwrap_or_default()
        .replace('\'', "'\\''")
}
