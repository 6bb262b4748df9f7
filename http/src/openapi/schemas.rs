//! The `components` of the OpenAPI document: every request and response body, the error shape,
//! the reusable error responses, and the app spec (taken from the schema crate's JSON Schema).

use serde_json::{json, Map, Value};

/// `#/components/schemas/{name}`.
pub(super) fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// A schema or null.
fn nullable(schema: Value) -> Value {
    json!({ "oneOf": [schema, { "type": "null" }] })
}

fn uuid() -> Value {
    json!({ "type": "string", "format": "uuid" })
}

fn millis(description: &str) -> Value {
    json!({ "type": "integer", "format": "int64", "description": format!("{description}, Unix milliseconds.") })
}

fn page(item: &str) -> Value {
    json!({
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {
            "items": { "type": "array", "items": schema_ref(item) },
            "next_cursor": { "type": ["string", "null"], "description": "Pass as `cursor` for the next page; null at the end." }
        }
    })
}

/// Every schema under `components.schemas`.
pub(super) fn schemas() -> Map<String, Value> {
    let mut schemas = Map::new();
    let mut add = |name: &str, schema: Value| {
        schemas.insert(name.to_string(), schema);
    };
    add(
        "ErrorCode",
        json!({
            "type": "string",
            "enum": ["bad_request", "invalid_input", "unauthorized", "forbidden", "not_found", "conflict", "payload_too_large",
                     "unsupported_media_type", "rate_limited", "unavailable", "timeout", "gate_failed", "internal"],
            "description": "400 bad_request (malformed JSON; also the code of 405 responses), 422 invalid_input, 401 unauthorized, 403 forbidden, 404 not_found, 409 conflict, 413 payload_too_large, 415 unsupported_media_type, 429 rate_limited, 503 unavailable, 504 timeout, 500 internal; gate_failed (422) only appears in a failed generation's `error`."
        }),
    );
    add(
        "ErrorBody",
        json!({
            "type": "object",
            "required": ["code", "message"],
            "properties": { "code": schema_ref("ErrorCode"), "message": { "type": "string" } }
        }),
    );
    add(
        "Error",
        json!({
            "type": "object",
            "required": ["error"],
            "properties": { "error": schema_ref("ErrorBody") },
            "description": "The one error shape of every failed request."
        }),
    );
    add(
        "Credentials",
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["email", "password"],
            "properties": {
                "email": { "type": "string", "format": "email", "maxLength": 254 },
                "password": { "type": "string", "minLength": 8, "maxLength": 128 }
            }
        }),
    );
    add(
        "RefreshRequest",
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["refresh_token"],
            "properties": { "refresh_token": { "type": "string" } }
        }),
    );
    add(
        "Tier",
        json!({ "type": "string", "enum": ["free", "pro", "enterprise"] }),
    );
    add(
        "User",
        json!({
            "type": "object",
            "required": ["id", "email", "tier", "created_at"],
            "properties": {
                "id": uuid(), "email": { "type": "string" }, "tier": schema_ref("Tier"), "created_at": millis("Registration time")
            }
        }),
    );
    add(
        "TokenPair",
        json!({
            "type": "object",
            "required": ["access_token", "refresh_token", "token_type", "expires_in"],
            "properties": {
                "access_token": { "type": "string", "description": "HS256 JWT; send as `Authorization: Bearer`." },
                "refresh_token": { "type": "string", "description": "Single use: each refresh returns a new one; reusing an old one revokes the family." },
                "token_type": { "const": "bearer" },
                "expires_in": { "type": "integer", "description": "Access-token lifetime in seconds (1800)." }
            }
        }),
    );
    add(
        "CreateProject",
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["name"],
            "properties": {
                "name": { "type": "string", "minLength": 1, "maxLength": 200 },
                "description": { "type": "string", "maxLength": 2000, "default": "" }
            }
        }),
    );
    add(
        "Project",
        json!({
            "type": "object",
            "required": ["id", "user_id", "name", "description", "created_at"],
            "properties": {
                "id": uuid(), "user_id": uuid(), "name": { "type": "string" }, "description": { "type": "string" },
                "created_at": millis("Creation time")
            }
        }),
    );
    add("ProjectPage", page("Project"));
    add(
        "GenerationOptions",
        json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "db": { "enum": ["sqlite", "postgresql", "mysql"], "description": "Target database." },
                "validate": { "type": "boolean", "default": false, "description": "Run the gates (tests, lint) on the result." }
            }
        }),
    );
    add(
        "CreateGeneration",
        json!({
            "type": "object",
            "additionalProperties": false,
            "description": "Exactly one of `prompt` and `spec`; a refinement (`parent_id`) takes a follow-up `prompt`.",
            "properties": {
                "prompt": { "type": "string", "minLength": 1, "maxLength": 8000 },
                "spec": schema_ref("AppSpec"),
                "project_id": uuid(),
                "parent_id": uuid(),
                "options": schema_ref("GenerationOptions")
            }
        }),
    );
    add(
        "ReadSpec",
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["prompt"],
            "description": "A prompt to read; with `parent_id` (one of your generations, with a spec), a follow-up that edits its spec.",
            "properties": {
                "prompt": { "type": "string", "minLength": 1, "maxLength": 8000 },
                "parent_id": uuid()
            }
        }),
    );
    add(
        "Diagnostic",
        json!({
            "type": "object",
            "required": ["severity", "code", "path", "message"],
            "properties": {
                "severity": { "enum": ["info", "warning", "error"] },
                "code": { "type": "string", "description": "Stable machine-readable code, e.g. `user_entity_added`." },
                "path": { "type": "string", "description": "Where in the spec, e.g. `entities[2].fields`; empty for the whole spec." },
                "message": { "type": "string" }
            }
        }),
    );
    add(
        "SpecReading",
        json!({
            "type": "object",
            "required": ["spec", "diagnostics"],
            "properties": {
                "spec": schema_ref("AppSpec"),
                "diagnostics": { "type": "array", "items": schema_ref("Diagnostic") }
            }
        }),
    );
    add(
        "GenerationStatus",
        json!({ "type": "string", "enum": ["queued", "running", "completed", "failed", "cancelled"] }),
    );
    add(
        "Stage",
        json!({ "type": "string", "enum": ["extract", "render", "review", "fix", "docs", "gates", "package"] }),
    );
    add(
        "Generation",
        json!({
            "type": "object",
            "required": ["id", "user_id", "project_id", "parent_id", "prompt", "input_spec", "options", "status", "stage",
                         "progress", "spec", "review", "gates", "error", "created_at", "updated_at", "completed_at"],
            "properties": {
                "id": uuid(),
                "user_id": uuid(),
                "project_id": nullable(uuid()),
                "parent_id": nullable(uuid()),
                "prompt": { "type": ["string", "null"] },
                "input_spec": { "type": ["object", "null"], "description": "The spec given instead of a prompt." },
                "options": schema_ref("GenerationOptions"),
                "status": schema_ref("GenerationStatus"),
                "stage": nullable(schema_ref("Stage")),
                "progress": { "type": "integer", "minimum": 0, "maximum": 100 },
                "spec": nullable(schema_ref("AppSpec")),
                "review": { "type": ["object", "null"], "description": "Review findings and score." },
                "gates": { "type": ["object", "null"], "description": "Gate results, when gates ran." },
                "error": nullable(schema_ref("ErrorBody")),
                "created_at": millis("Creation time"),
                "updated_at": millis("Last change"),
                "completed_at": { "type": ["integer", "null"], "format": "int64" }
            }
        }),
    );
    add("GenerationPage", page("Generation"));
    add(
        "EventKind",
        json!({
            "type": "string",
            "enum": ["stage_started", "stage_finished", "progress", "log", "completed", "failed", "cancelled"],
            "description": "The SSE `event:` field; completed, failed and cancelled end the stream."
        }),
    );
    add(
        "GenerationEvent",
        json!({
            "type": "object",
            "required": ["generation_id", "seq", "kind", "data", "at"],
            "description": "The JSON in each SSE `data:` line; `seq` is also the SSE `id:`.",
            "properties": {
                "generation_id": uuid(),
                "seq": { "type": "integer", "minimum": 1 },
                "kind": schema_ref("EventKind"),
                "data": { "description": "Kind-specific payload." },
                "at": millis("When it happened")
            }
        }),
    );
    add(
        "FileEntry",
        json!({
            "type": "object",
            "required": ["path", "size", "sha256"],
            "properties": {
                "path": { "type": "string" },
                "size": { "type": "integer", "minimum": 0 },
                "sha256": { "type": "string", "pattern": "^[0-9a-f]{64}$" }
            }
        }),
    );
    add(
        "Status",
        json!({
            "type": "object", "required": ["status"], "properties": { "status": { "type": "string" } }
        }),
    );
    for (name, schema) in app_spec() {
        add(&name, schema);
    }
    schemas
}

/// The app spec's JSON Schema (draft 2020-12, which OpenAPI 3.1 speaks) as `AppSpec`, its
/// `$defs` hoisted to `Spec_<name>` and the references rewritten to match.
fn app_spec() -> Vec<(String, Value)> {
    let Ok(mut root) = serde_json::from_str::<Value>(codebegen_schema::SPEC_JSON_SCHEMA) else {
        tracing::error!("the spec JSON Schema does not parse");
        return vec![("AppSpec".to_string(), json!({ "type": "object" }))];
    };
    rewrite_refs(&mut root);
    let mut out = Vec::new();
    if let Some(object) = root.as_object_mut() {
        object.remove("$schema");
        object.remove("$id");
        if let Some(Value::Object(defs)) = object.remove("$defs") {
            out.extend(
                defs.into_iter()
                    .map(|(name, schema)| (format!("Spec_{name}"), schema)),
            );
        }
    }
    out.insert(0, ("AppSpec".to_string(), root));
    out
}

fn rewrite_refs(value: &mut Value) {
    match value {
        Value::Object(object) => {
            for (key, child) in object.iter_mut() {
                match child {
                    Value::String(target) if key == "$ref" => {
                        if let Some(name) = target.strip_prefix("#/$defs/") {
                            *target = format!("#/components/schemas/Spec_{name}");
                        }
                    }
                    other => rewrite_refs(other),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_refs),
        _ => {}
    }
}

/// Reusable error responses under `components.responses`, by status.
pub(super) fn error_responses() -> Map<String, Value> {
    let mut responses = Map::new();
    for (status, description) in [
        ("400", "Malformed JSON, header or query string."),
        (
            "401",
            "No or bad bearer token (`WWW-Authenticate: Bearer`).",
        ),
        ("403", "An operator route without the operator token."),
        ("404", "Missing, or belongs to another user."),
        ("409", "Conflicts with the current state."),
        ("413", "Body over 64 KiB."),
        ("415", "The body is not application/json."),
        (
            "422",
            "Well-formed but invalid: unknown fields, bad lengths, invalid spec.",
        ),
        ("429", "A tier limit; see `Retry-After`."),
        ("500", "A bug; details are only logged."),
        ("503", "A dependency is unavailable."),
        ("504", "The request took too long."),
    ] {
        let mut response = json!({
            "description": description,
            "content": { "application/json": { "schema": schema_ref("Error") } }
        });
        if status == "429" {
            response["headers"] = json!({
                "Retry-After": { "description": "Seconds until a slot frees up.", "schema": { "type": "integer" } }
            });
        }
        if status == "401" {
            response["headers"] =
                json!({ "WWW-Authenticate": { "schema": { "const": "Bearer" } } });
        }
        responses.insert(status.to_string(), response);
    }
    responses
}
