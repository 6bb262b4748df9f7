//! Generated files from the artifact store: the listing, one file, the ZIP archive and the diff
//! against the parent. Keys: `generations/{id}/manifest.json` (the listing),
//! `generations/{id}/files/{path}` and `generations/{id}/archive.zip`.

use codebegen_pipeline::{FileEntry, FileTree};
use codebegen_schema::generation::{GenerationId, GenerationRecord, GenerationStatus, UserRecord};
use warp::http::header::{HeaderValue, CONTENT_DISPOSITION, CONTENT_TYPE};
use warp::reply::Response;
use warp::Reply as _;

use crate::error::ApiError;
use crate::generations::owned_generation;
use crate::state::AppState;

fn prefix(id: GenerationId) -> String {
    format!("generations/{id}")
}

/// The generation, if it is the user's and completed: 404 for others, 409 before completion.
async fn completed(
    state: &AppState,
    user: &UserRecord,
    id: GenerationId,
) -> Result<GenerationRecord, ApiError> {
    let record = owned_generation(state, user, id).await?;
    match record.status {
        GenerationStatus::Completed => Ok(record),
        status if status.is_final() => Err(ApiError::conflict(format!(
            "the generation is {} and has no files",
            status.as_str()
        ))),
        _ => Err(ApiError::conflict("the generation has not completed yet")),
    }
}

async fn manifest(state: &AppState, id: GenerationId) -> Result<Vec<FileEntry>, ApiError> {
    let bytes = state
        .stores()
        .artifacts
        .get(&format!("{}/manifest.json", prefix(id)))
        .await?;
    let bytes = bytes.ok_or_else(ApiError::not_found)?;
    serde_json::from_slice(&bytes)
        .map_err(|err| ApiError::internal(format_args!("manifest of {id}: {err}")))
}

/// The whole tree of a completed generation, from its manifest and files.
async fn load_tree(state: &AppState, id: GenerationId) -> Result<FileTree, ApiError> {
    let mut tree = FileTree::new();
    for entry in manifest(state, id).await? {
        let key = format!("{}/files/{}", prefix(id), entry.path);
        let bytes = state.stores().artifacts.get(&key).await?;
        let bytes = bytes.ok_or_else(|| {
            ApiError::internal(format_args!("{key} is in the manifest but missing"))
        })?;
        let text = String::from_utf8(bytes.to_vec())
            .map_err(|_| ApiError::internal(format_args!("{key} is not UTF-8")))?;
        tree.insert(entry.path, text);
    }
    Ok(tree)
}

/// `GET /generations/{id}/files` → `[{path, size, sha256}]`.
pub(crate) async fn list(
    state: AppState,
    user: UserRecord,
    id: GenerationId,
) -> Result<Response, ApiError> {
    completed(&state, &user, id).await?;
    Ok(warp::reply::json(&manifest(&state, id).await?).into_response())
}

/// `GET /generations/{id}/files/{path..}`: only paths in the manifest, never anything else.
pub(crate) async fn get(
    state: AppState,
    user: UserRecord,
    id: GenerationId,
    raw_path: String,
) -> Result<Response, ApiError> {
    let path = decode_path(&raw_path).ok_or_else(|| ApiError::invalid("invalid file path"))?;
    completed(&state, &user, id).await?;
    if !manifest(&state, id)
        .await?
        .iter()
        .any(|entry| entry.path == path)
    {
        return Err(ApiError::not_found());
    }
    let bytes = state
        .stores()
        .artifacts
        .get(&format!("{}/files/{path}", prefix(id)))
        .await?;
    let bytes = bytes.ok_or_else(ApiError::not_found)?;
    let mut response = Response::new(bytes.into());
    response
        .headers_mut()
        .insert(CONTENT_TYPE, content_type(&path));
    Ok(response)
}

/// Percent-decodes a tail and rejects anything that is not a plain relative path.
fn decode_path(raw: &str) -> Option<String> {
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()?;
    codebegen_store::valid_key(&decoded).then(|| decoded.into_owned())
}

/// By extension, all UTF-8 text (every generated file is); unknown ones are `text/plain`.
fn content_type(path: &str) -> HeaderValue {
    let extension = path
        .rsplit('/')
        .next()
        .and_then(|name| name.rsplit_once('.'))
        .map(|(_, ext)| ext);
    let mime = match extension.map(str::to_ascii_lowercase).as_deref() {
        Some("py") => "text/x-python",
        Some("md") => "text/markdown",
        Some("toml") => "application/toml",
        Some("json") => "application/json",
        Some("yaml" | "yml") => "application/yaml",
        Some("html" | "htm") => "text/html",
        Some("css") => "text/css",
        Some("js") => "text/javascript",
        Some("sh") => "application/x-sh",
        Some("sql") => "application/sql",
        Some("csv") => "text/csv",
        _ => "text/plain",
    };
    HeaderValue::from_str(&format!("{mime}; charset=utf-8"))
        .unwrap_or_else(|_| HeaderValue::from_static("text/plain"))
}

/// `GET /generations/{id}/archive`: the ZIP, streamed in chunks.
pub(crate) async fn archive(
    state: AppState,
    user: UserRecord,
    id: GenerationId,
) -> Result<Response, ApiError> {
    let record = completed(&state, &user, id).await?;
    let stream = state
        .stores()
        .artifacts
        .get_stream(&format!("{}/archive.zip", prefix(id)))
        .await?
        .ok_or_else(ApiError::not_found)?;
    // warp needs a `Sync` stream: pump the store's stream through a channel as it arrives.
    let (sender, mut receiver) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        let mut stream = stream;
        while let Some(chunk) = futures_util::StreamExt::next(&mut stream).await {
            if sender.send(chunk).await.is_err() {
                break;
            }
        }
    });
    let body = futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx));
    let mut response = warp::reply::stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    let disposition = format!("attachment; filename=\"{}\"", archive_name(&record));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// `<spec name>-<first 8 hex digits of the id>.zip`, with only `[A-Za-z0-9_-]` in the name.
pub(crate) fn archive_name(record: &GenerationRecord) -> String {
    let name: String = record
        .spec
        .as_ref()
        .map(|spec| {
            spec.name
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
                .collect()
        })
        .filter(|name: &String| !name.is_empty())
        .unwrap_or_else(|| "generation".to_string());
    let short: String = record.id.0.simple().to_string().chars().take(8).collect();
    format!("{name}-{short}.zip")
}

/// `GET /generations/{id}/diff`: unified diff against the parent; 404 without a parent.
pub(crate) async fn diff(
    state: AppState,
    user: UserRecord,
    id: GenerationId,
) -> Result<Response, ApiError> {
    let record = completed(&state, &user, id).await?;
    let parent = record.parent_id.ok_or_else(ApiError::not_found)?;
    completed(&state, &user, parent).await?;
    let (old, new) = (
        load_tree(&state, parent).await?,
        load_tree(&state, id).await?,
    );
    let text = crate::diff::unified_diff(&old, &new);
    let mut response = Response::new(text.into());
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: &str, expected: Option<&str>) {
        assert_eq!(decode_path(raw).as_deref(), expected, "{raw}");
    }

    #[test]
    fn paths_are_decoded_and_traversal_rejected() {
        check("app/main.py", Some("app/main.py"));
        check("app/my%20file.py", Some("app/my file.py"));
        check("../secrets", None);
        check("app/%2E%2E/x", None);
        check("%2Fetc%2Fpasswd", None);
        check("a//b", None);
        check("a%5Cb", None);
    }

    #[test]
    fn content_types_by_extension() {
        let check = |path: &str, expected: &str| {
            assert_eq!(content_type(path).to_str().ok(), Some(expected), "{path}")
        };
        check("app/main.py", "text/x-python; charset=utf-8");
        check("README.md", "text/markdown; charset=utf-8");
        check("pyproject.toml", "application/toml; charset=utf-8");
        check(".env.example", "text/plain; charset=utf-8");
        check("openapi.json", "application/json; charset=utf-8");
        check("Dockerfile", "text/plain; charset=utf-8");
    }
}
