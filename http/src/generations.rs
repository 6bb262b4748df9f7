//! `/generations`: create (202), list, get and cancel. The request DTO becomes a
//! [`NewGeneration`] once, here; other users' generations are 404.

use codebegen_actors::service::NewGeneration;
use codebegen_schema::generation::{
    GenerationId, GenerationOptions, GenerationRecord, ProjectId, UserRecord,
};
use serde::Deserialize;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Reply as _;

use crate::body::{cursor_error, PageQuery};
use crate::error::ApiError;
use crate::projects::{owned_project, PageView};
use crate::state::AppState;

/// The longest prompt, in characters.
pub const MAX_PROMPT_CHARS: usize = 8000;

/// `POST /generations` body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateGeneration {
    #[serde(default)]
    prompt: Option<String>,
    #[serde(default)]
    spec: Option<serde_json::Value>,
    #[serde(default)]
    project_id: Option<ProjectId>,
    #[serde(default)]
    parent_id: Option<GenerationId>,
    #[serde(default)]
    options: Option<GenerationOptions>,
}

impl TryFrom<CreateGeneration> for NewGeneration {
    type Error = ApiError;

    /// Exactly one of `prompt` and `spec`; a refinement (`parent_id`) takes a prompt. Prompts are
    /// 1..=8000 characters; a spec must pass validation.
    fn try_from(request: CreateGeneration) -> Result<NewGeneration, ApiError> {
        match (&request.prompt, &request.spec, request.parent_id) {
            (Some(_), Some(_), _) => {
                return Err(ApiError::invalid("give either prompt or spec, not both"))
            }
            (None, None, None) => return Err(ApiError::invalid("give a prompt or a spec")),
            (None, _, Some(_)) => {
                return Err(ApiError::invalid("a refinement (parent_id) needs a prompt"))
            }
            _ => {}
        }
        if let Some(prompt) = &request.prompt {
            let length = prompt.chars().count();
            if prompt.trim().is_empty() || length > MAX_PROMPT_CHARS {
                return Err(ApiError::invalid(format!(
                    "prompt must be 1 to {MAX_PROMPT_CHARS} characters"
                )));
            }
        }
        if let Some(spec) = &request.spec {
            check_spec(spec)?;
        }
        Ok(NewGeneration {
            prompt: request.prompt,
            spec: request.spec,
            project_id: request.project_id,
            parent_id: request.parent_id,
            options: request.options.unwrap_or_default(),
        })
    }
}

fn check_spec(spec: &serde_json::Value) -> Result<(), ApiError> {
    let validation = codebegen_schema::check_value(spec);
    if validation.spec.is_some() {
        return Ok(());
    }
    let errors: Vec<String> = validation
        .diagnostics
        .iter()
        .filter(|d| d.severity == codebegen_schema::Severity::Error)
        .take(5)
        .map(|d| {
            if d.path.is_empty() {
                d.message.clone()
            } else {
                format!("{}: {}", d.path, d.message)
            }
        })
        .collect();
    Err(ApiError::invalid(format!(
        "invalid spec: {}",
        errors.join("; ")
    )))
}

/// `?limit=&cursor=&project_id=`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct GenerationQuery {
    limit: Option<u32>,
    cursor: Option<String>,
    project_id: Option<String>,
}

/// `POST /generations` → 202 with the queued record.
pub(crate) async fn create(
    state: AppState,
    user: UserRecord,
    request: CreateGeneration,
) -> Result<Response, ApiError> {
    let request = NewGeneration::try_from(request)?;
    if let Some(project) = request.project_id {
        owned_project(&state, &user, project).await?;
    }
    if let Some(parent) = request.parent_id {
        owned_generation(&state, &user, parent).await?;
    }
    let record = state.service.create_generation(&user, request).await?;
    tracing::info!(generation_id = %record.id, user_id = %user.id, "generation accepted");
    Ok(warp::reply::with_status(warp::reply::json(&record), StatusCode::ACCEPTED).into_response())
}

/// `GET /generations`.
pub(crate) async fn list(
    state: AppState,
    user: UserRecord,
    query: GenerationQuery,
) -> Result<Response, ApiError> {
    let project = match query.project_id.as_deref() {
        None | Some("") => None,
        Some(text) => Some(
            ProjectId::parse(text).ok_or_else(|| ApiError::invalid("project_id is not a uuid"))?,
        ),
    };
    let paging = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    };
    let page = state
        .stores()
        .generations
        .list_generations(user.id, project, paging.limit()?, paging.cursor.as_deref())
        .await
        .map_err(cursor_error)?;
    Ok(warp::reply::json(&PageView::from(page)).into_response())
}

/// `GET /generations/{id}`.
pub(crate) async fn get(
    state: AppState,
    user: UserRecord,
    id: GenerationId,
) -> Result<Response, ApiError> {
    let record = owned_generation(&state, &user, id).await?;
    Ok(warp::reply::json(&record).into_response())
}

/// `POST /generations/{id}/cancel` → 200 with the record; 409 once final.
pub(crate) async fn cancel(
    state: AppState,
    user: UserRecord,
    id: GenerationId,
) -> Result<Response, ApiError> {
    let record = owned_generation(&state, &user, id).await?;
    if record.status.is_final() {
        return Err(ApiError::conflict(format!(
            "the generation is already {}",
            record.status.as_str()
        )));
    }
    let record = state.service.cancel_generation(user.id, id).await?;
    Ok(warp::reply::json(&record).into_response())
}

/// The generation if it exists and belongs to `user`; 404 otherwise.
pub(crate) async fn owned_generation(
    state: &AppState,
    user: &UserRecord,
    id: GenerationId,
) -> Result<GenerationRecord, ApiError> {
    match state.stores().generations.get_generation(id).await? {
        Some(record) if record.user_id == user.id => Ok(record),
        _ => Err(ApiError::not_found()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use codebegen_schema::generation::ErrorCode;

    fn check(json: serde_json::Value, expected: Option<ErrorCode>) {
        let request: CreateGeneration = serde_json::from_value(json.clone()).expect("shape");
        assert_eq!(
            NewGeneration::try_from(request).err().map(|e| e.code),
            expected,
            "{json}"
        );
    }

    #[test]
    fn prompt_spec_and_parent_combinations() {
        let parent = uuid::Uuid::new_v4().to_string();
        check(serde_json::json!({"prompt": "a blog"}), None);
        check(
            serde_json::json!({"prompt": "add tags", "parent_id": parent}),
            None,
        );
        check(serde_json::json!({}), Some(ErrorCode::InvalidInput));
        check(
            serde_json::json!({"prompt": "x", "spec": {}}),
            Some(ErrorCode::InvalidInput),
        );
        check(
            serde_json::json!({"parent_id": parent}),
            Some(ErrorCode::InvalidInput),
        );
        check(
            serde_json::json!({"prompt": "  "}),
            Some(ErrorCode::InvalidInput),
        );
        check(serde_json::json!({"prompt": "x".repeat(8000)}), None);
        check(
            serde_json::json!({"prompt": "x".repeat(8001)}),
            Some(ErrorCode::InvalidInput),
        );
        check(
            serde_json::json!({"spec": {"version": 1}}),
            Some(ErrorCode::InvalidInput),
        );
    }
}
