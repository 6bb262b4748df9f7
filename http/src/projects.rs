//! `/projects`: create, list (own, newest first), get and delete. Other users' projects are 404.

use codebegen_schema::generation::{ProjectId, ProjectRecord, UserRecord};
use serde::{Deserialize, Serialize};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Reply as _;

use crate::body::{cursor_error, PageQuery};
use crate::error::ApiError;
use crate::state::AppState;

/// `POST /projects` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateProject {
    name: String,
    #[serde(default)]
    description: String,
}

/// The longest accepted description.
const MAX_DESCRIPTION: usize = 2000;

/// A page of anything, as every listing returns it.
#[derive(Debug, Serialize)]
pub(crate) struct PageView<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> From<codebegen_store::Page<T>> for PageView<T> {
    fn from(page: codebegen_store::Page<T>) -> PageView<T> {
        PageView {
            items: page.items,
            next_cursor: page.next_cursor,
        }
    }
}

/// `POST /projects` → 201.
pub(crate) async fn create(
    state: AppState,
    user: UserRecord,
    request: CreateProject,
) -> Result<Response, ApiError> {
    let name = request.name.trim().to_string();
    if !(1..=200).contains(&name.chars().count()) {
        return Err(ApiError::invalid("name must be 1 to 200 characters"));
    }
    if request.description.chars().count() > MAX_DESCRIPTION {
        return Err(ApiError::invalid(format!(
            "description must be at most {MAX_DESCRIPTION} characters"
        )));
    }
    let project = ProjectRecord {
        id: ProjectId(uuid::Uuid::now_v7()),
        user_id: user.id,
        name,
        description: request.description,
        created_at: crate::now_ms(),
    };
    state.stores().projects.create_project(&project).await?;
    Ok(warp::reply::with_status(warp::reply::json(&project), StatusCode::CREATED).into_response())
}

/// `GET /projects?limit=&cursor=`.
pub(crate) async fn list(
    state: AppState,
    user: UserRecord,
    query: PageQuery,
) -> Result<Response, ApiError> {
    let page = state
        .stores()
        .projects
        .list_projects(user.id, query.limit()?, query.cursor.as_deref())
        .await
        .map_err(cursor_error)?;
    Ok(warp::reply::json(&PageView::from(page)).into_response())
}

/// `GET /projects/{id}`.
pub(crate) async fn get(
    state: AppState,
    user: UserRecord,
    id: ProjectId,
) -> Result<Response, ApiError> {
    let project = owned_project(&state, &user, id).await?;
    Ok(warp::reply::json(&project).into_response())
}

/// `DELETE /projects/{id}` → 204.
pub(crate) async fn delete(
    state: AppState,
    user: UserRecord,
    id: ProjectId,
) -> Result<Response, ApiError> {
    owned_project(&state, &user, id).await?;
    state.stores().projects.delete_project(id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The project if it exists and belongs to `user`; 404 otherwise.
pub(crate) async fn owned_project(
    state: &AppState,
    user: &UserRecord,
    id: ProjectId,
) -> Result<ProjectRecord, ApiError> {
    match state.stores().projects.get_project(id).await? {
        Some(project) if project.user_id == user.id => Ok(project),
        _ => Err(ApiError::not_found()),
    }
}
