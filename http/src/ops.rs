//! Operations: `/healthz` (the process serves), `/readyz` (the service takes work), `/metrics`
//! (Prometheus text) and `/api/v1/openapi.json`.

use codebegen_schema::generation::ErrorCode;
use warp::http::header::{HeaderValue, CONTENT_TYPE};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Reply as _;

use crate::error::ApiError;
use crate::state::AppState;

/// `GET /healthz`: 200 while the process serves.
pub(crate) async fn healthz() -> Result<Response, ApiError> {
    Ok(warp::reply::json(&serde_json::json!({ "status": "ok" })).into_response())
}

/// `GET /readyz`: 200 when the service can take work, else 503 in the error shape.
pub(crate) async fn readyz(state: AppState) -> Result<Response, ApiError> {
    if state.service.ready().await {
        Ok(warp::reply::json(&serde_json::json!({ "status": "ready" })).into_response())
    } else {
        Err(ApiError::new(ErrorCode::Unavailable, "not ready"))
    }
}

/// `GET /metrics`: the Prometheus text format.
pub(crate) async fn metrics(state: AppState) -> Result<Response, ApiError> {
    let text = state.metrics.scrape(&state.service);
    let mut response = Response::new(text.into());
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}

/// `GET /api/v1/openapi.json`.
pub(crate) async fn openapi() -> Result<Response, ApiError> {
    let mut response = warp::reply::json(crate::openapi::document()).into_response();
    *response.status_mut() = StatusCode::OK;
    Ok(response)
}
