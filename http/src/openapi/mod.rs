//! The OpenAPI 3.1 document served at `/api/v1/openapi.json`, built by hand with `serde_json`
//! so it can describe the schema crate's types too. A test checks it against [`crate::ROUTES`]
//! and that every `$ref` resolves.

mod schemas;

use std::sync::OnceLock;

use serde_json::{json, Map, Value};

use schemas::schema_ref;

/// The document (built once).
pub fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(build)
}

/// One operation, described.
struct Op {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    tag: &'static str,
    secured: bool,
    parameters: Vec<Value>,
    body: Option<&'static str>,
    ok: (&'static str, Value),
    errors: &'static [&'static str],
}

fn json_ok(status: &'static str, description: &str, schema: Value) -> (&'static str, Value) {
    (
        status,
        json!({ "description": description, "content": { "application/json": { "schema": schema } } }),
    )
}

fn empty_ok(status: &'static str, description: &str) -> (&'static str, Value) {
    (status, json!({ "description": description }))
}

fn path_id(description: &str) -> Value {
    json!({ "name": "id", "in": "path", "required": true, "description": description,
            "schema": { "type": "string", "format": "uuid" } })
}

fn query(name: &str, schema: Value, description: &str) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": description, "schema": schema })
}

fn paging() -> Vec<Value> {
    vec![
        query(
            "limit",
            json!({ "type": "integer", "minimum": 1, "maximum": 100, "default": 20 }),
            "Page size.",
        ),
        query(
            "cursor",
            json!({ "type": "string" }),
            "`next_cursor` of the previous page.",
        ),
    ]
}

/// Errors every JSON-body route can answer.
const BODY_ERRORS: &[&str] = &["400", "413", "415", "422"];

fn operations() -> Vec<Op> {
    let generation_id = || path_id("Generation id.");
    let mut ops = vec![
        Op {
            method: "post",
            path: "/api/v1/auth/register",
            summary: "Register a user (tier free).",
            tag: "auth",
            secured: false,
            parameters: vec![],
            body: Some("Credentials"),
            ok: json_ok("201", "The new user.", schema_ref("User")),
            errors: &["400", "409", "413", "415", "422"],
        },
        Op {
            method: "post",
            path: "/api/v1/auth/login",
            summary: "Exchange credentials for tokens.",
            tag: "auth",
            secured: false,
            parameters: vec![],
            body: Some("Credentials"),
            ok: json_ok("200", "Access and refresh tokens.", schema_ref("TokenPair")),
            errors: &["400", "401", "413", "415", "422"],
        },
        Op {
            method: "post",
            path: "/api/v1/auth/refresh",
            summary: "Rotate a refresh token; reuse revokes its family.",
            tag: "auth",
            secured: false,
            parameters: vec![],
            body: Some("RefreshRequest"),
            ok: json_ok(
                "200",
                "A new token pair in the same family.",
                schema_ref("TokenPair"),
            ),
            errors: &["400", "401", "413", "415", "422"],
        },
        Op {
            method: "post",
            path: "/api/v1/auth/logout",
            summary: "Revoke a refresh token's family.",
            tag: "auth",
            secured: false,
            parameters: vec![],
            body: Some("RefreshRequest"),
            ok: empty_ok("204", "Logged out."),
            errors: BODY_ERRORS,
        },
        Op {
            method: "get",
            path: "/api/v1/auth/me",
            summary: "The signed-in user.",
            tag: "auth",
            secured: true,
            parameters: vec![],
            body: None,
            ok: json_ok("200", "The user.", schema_ref("User")),
            errors: &["401"],
        },
        Op {
            method: "post",
            path: "/api/v1/projects",
            summary: "Create a project.",
            tag: "projects",
            secured: true,
            parameters: vec![],
            body: Some("CreateProject"),
            ok: json_ok("201", "The project.", schema_ref("Project")),
            errors: &["400", "401", "413", "415", "422"],
        },
        Op {
            method: "get",
            path: "/api/v1/projects",
            summary: "Own projects, newest first.",
            tag: "projects",
            secured: true,
            parameters: paging(),
            body: None,
            ok: json_ok("200", "A page of projects.", schema_ref("ProjectPage")),
            errors: &["400", "401", "422"],
        },
        Op {
            method: "get",
            path: "/api/v1/projects/{id}",
            summary: "One project.",
            tag: "projects",
            secured: true,
            parameters: vec![path_id("Project id.")],
            body: None,
            ok: json_ok("200", "The project.", schema_ref("Project")),
            errors: &["401", "404"],
        },
        Op {
            method: "delete",
            path: "/api/v1/projects/{id}",
            summary: "Delete a project (its generations stay).",
            tag: "projects",
            secured: true,
            parameters: vec![path_id("Project id.")],
            body: None,
            ok: empty_ok("204", "Deleted."),
            errors: &["401", "404"],
        },
        Op {
            method: "post",
            path: "/api/v1/generations",
            summary: "Start a generation from a prompt or a spec, or refine one.",
            tag: "generations",
            secured: true,
            parameters: vec![],
            body: Some("CreateGeneration"),
            ok: json_ok(
                "202",
                "Accepted; the queued record.",
                schema_ref("Generation"),
            ),
            errors: &[
                "400", "401", "404", "409", "413", "415", "422", "429", "503",
            ],
        },
    ];
    let mut list_params = paging();
    list_params.push(query(
        "project_id",
        json!({ "type": "string", "format": "uuid" }),
        "Only this project.",
    ));
    ops.extend([
        Op { method: "get", path: "/api/v1/generations", summary: "Own generations, newest first.", tag: "generations",
             secured: true, parameters: list_params, body: None,
             ok: json_ok("200", "A page of generations.", schema_ref("GenerationPage")), errors: &["400", "401", "422"] },
        Op { method: "get", path: "/api/v1/generations/{id}", summary: "One generation.", tag: "generations",
             secured: true, parameters: vec![generation_id()], body: None,
             ok: json_ok("200", "The record.", schema_ref("Generation")), errors: &["401", "404"] },
        Op { method: "get", path: "/api/v1/generations/{id}/events", summary: "Progress as server-sent events.",
             tag: "generations", secured: true,
             parameters: vec![
                 generation_id(),
                 json!({ "name": "Last-Event-ID", "in": "header", "required": false,
                         "description": "Replay only events after this seq.", "schema": { "type": "integer", "minimum": 0 } }),
                 query("last_event_id", json!({ "type": "integer", "minimum": 0 }), "Same as the Last-Event-ID header."),
             ],
             body: None,
             ok: ("200", json!({
                 "description": "An event stream: stored events after Last-Event-ID, then live ones; `id:` is the seq, `event:` the kind, `data:` a GenerationEvent. Comment lines keep the connection alive every 15 s; the stream ends after completed, failed or cancelled.",
                 "content": { "text/event-stream": { "schema": { "type": "string" },
                                                     "x-event-data": schema_ref("GenerationEvent") } }
             })),
             errors: &["400", "401", "404"] },
        Op { method: "get", path: "/api/v1/generations/{id}/files", summary: "The generated files.", tag: "files",
             secured: true, parameters: vec![generation_id()], body: None,
             ok: json_ok("200", "Path, size and sha256 of every file.", json!({ "type": "array", "items": schema_ref("FileEntry") })),
             errors: &["401", "404", "409"] },
        Op { method: "get", path: "/api/v1/generations/{id}/files/{path}", summary: "One generated file.", tag: "files",
             secured: true,
             parameters: vec![generation_id(), json!({ "name": "path", "in": "path", "required": true,
                 "description": "Relative path; may contain `/`.", "schema": { "type": "string" } })],
             body: None,
             ok: ("200", json!({ "description": "The file; the content type follows the extension (text/plain otherwise).",
                                 "content": { "text/plain": { "schema": { "type": "string" } },
                                              "*/*": { "schema": { "type": "string" } } } })),
             errors: &["401", "404", "409", "422"] },
        Op { method: "get", path: "/api/v1/generations/{id}/archive", summary: "All files as a ZIP.", tag: "files",
             secured: true, parameters: vec![generation_id()], body: None,
             ok: ("200", json!({ "description": "The archive, streamed.",
                                 "headers": { "Content-Disposition": { "description": "attachment; filename=\"<spec name>-<short id>.zip\"",
                                                                        "schema": { "type": "string" } } },
                                 "content": { "application/zip": { "schema": { "type": "string", "contentMediaType": "application/zip" } } } })),
             errors: &["401", "404", "409"] },
        Op { method: "get", path: "/api/v1/generations/{id}/diff", summary: "Unified diff against the parent generation.",
             tag: "files", secured: true, parameters: vec![generation_id()], body: None,
             ok: ("200", json!({ "description": "A git-style unified diff; empty when nothing changed.",
                                 "content": { "text/plain": { "schema": { "type": "string" } } } })),
             errors: &["401", "404", "409"] },
        Op { method: "post", path: "/api/v1/generations/{id}/cancel", summary: "Cancel a running generation.",
             tag: "generations", secured: true, parameters: vec![generation_id()], body: None,
             ok: json_ok("200", "The record as it ends.", schema_ref("Generation")), errors: &["401", "404", "409", "503"] },
        Op { method: "post", path: "/api/v1/specs",
             summary: "Read a prompt into a checked spec, or refine a generation's spec with a follow-up prompt (`parent_id`), without creating a generation. A cheap read: it counts against no tier quota.",
             tag: "specs", secured: true, parameters: vec![], body: Some("ReadSpec"),
             ok: json_ok("200", "The spec and what was noticed reading it; post the spec, corrected or not, to /generations.", schema_ref("SpecReading")),
             errors: &["400", "401", "404", "409", "413", "415", "422"] },
        Op { method: "get", path: "/api/v1/openapi.json", summary: "This document.", tag: "operations", secured: false,
             parameters: vec![], body: None, ok: json_ok("200", "OpenAPI 3.1.", json!({ "type": "object" })), errors: &[] },
        Op { method: "get", path: "/api/v1/cluster", summary: "Operators: nodes, roles and liveness, workers per model, the queue and the generation leases.",
             tag: "operations", secured: true, parameters: vec![], body: None,
             ok: json_ok("200", "The cluster as this node sees it.", json!({ "type": "object" })), errors: &["403", "503"] },
        Op { method: "get", path: "/healthz", summary: "Liveness: 200 while the process serves.", tag: "operations",
             secured: false, parameters: vec![], body: None, ok: json_ok("200", "Alive.", schema_ref("Status")), errors: &[] },
        Op { method: "get", path: "/readyz", summary: "Readiness: 200 when the service takes work.", tag: "operations",
             secured: false, parameters: vec![], body: None, ok: json_ok("200", "Ready.", schema_ref("Status")), errors: &["503"] },
        Op { method: "get", path: "/metrics", summary: "Prometheus metrics.", tag: "operations", secured: false,
             parameters: vec![], body: None,
             ok: ("200", json!({ "description": "Prometheus text format 0.0.4.",
                                 "content": { "text/plain": { "schema": { "type": "string" } } } })),
             errors: &[] },
    ]);
    ops
}

fn operation(op: Op) -> Value {
    let mut responses = Map::new();
    responses.insert(op.ok.0.to_string(), op.ok.1);
    for status in op.errors.iter().chain(["500"].iter()) {
        responses.insert(
            status.to_string(),
            json!({ "$ref": format!("#/components/responses/{status}") }),
        );
    }
    let mut value = json!({
        "summary": op.summary,
        "operationId": operation_id(op.method, op.path),
        "tags": [op.tag],
        "responses": responses,
    });
    if !op.parameters.is_empty() {
        value["parameters"] = Value::Array(op.parameters);
    }
    if let Some(body) = op.body {
        value["requestBody"] = json!({
            "required": true,
            "content": { "application/json": { "schema": schema_ref(body) } }
        });
    }
    value["security"] = if op.secured {
        json!([{ "bearer": [] }])
    } else {
        json!([])
    };
    value
}

/// `get_api_v1_generations_id_files`.
fn operation_id(method: &str, path: &str) -> String {
    let words: Vec<String> = path
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    format!("{method}_{}", words.join("_"))
}

fn build() -> Value {
    let mut paths = Map::new();
    for op in operations() {
        let (path, method) = (op.path, op.method);
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[method] = operation(op);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "codebegen",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Turn a prompt into a FastAPI project: sign in, start generations, follow them live over SSE, download the files or a ZIP, and refine with follow-up prompts. Every error has the shape {\"error\": {\"code\", \"message\"}}; another user's resources are always 404."
        },
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" } },
            "schemas": schemas::schemas(),
            "responses": schemas::error_responses(),
        },
        "security": [{ "bearer": [] }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::Object(object) => {
                for (key, child) in object {
                    match child {
                        Value::String(target) if key == "$ref" => out.push(target),
                        other => refs(other, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| refs(item, out)),
            _ => {}
        }
    }

    #[test]
    fn every_route_is_documented_and_nothing_else() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.1.0");
        let mut documented = 0;
        for (method, template) in crate::ROUTES {
            let operation = &doc["paths"][*template][method.to_ascii_lowercase()];
            assert!(
                operation.is_object(),
                "{method} {template} is not documented"
            );
            assert!(operation["responses"]["500"].is_object());
            documented += 1;
        }
        let operations: usize = doc["paths"].as_object().map_or(0, |p| {
            p.values()
                .map(|m| m.as_object().map_or(0, |m| m.len()))
                .sum()
        });
        assert_eq!(operations, documented);
    }

    #[test]
    fn every_reference_resolves() {
        let doc = document();
        let mut found = Vec::new();
        refs(doc, &mut found);
        assert!(found.len() > 40);
        for target in found {
            let pointer = target
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("external ref {target}"));
            assert!(doc.pointer(pointer).is_some(), "{target} does not resolve");
        }
    }
}
