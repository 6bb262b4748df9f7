//! warp filters for the codebegen API: request -> validated command -> service call -> response.
//!
//! [`routes`] is the whole HTTP surface: `/api/v1` (auth, projects, generations, specs read
//! from prompts, files, SSE, OpenAPI) plus `/healthz`, `/readyz` and `/metrics`, with
//! rejections turned into the one error shape `{"error": {"code", "message"}}` (see [`error`]).

pub mod auth;
mod body;
mod cluster;
pub mod diff;
pub mod error;
mod events;
mod files;
mod generations;
mod guard;
pub mod metrics;
pub mod openapi;
mod ops;
mod projects;
mod routes;
mod specs;
mod state;

pub use auth::{AuthConfig, PasswordParams};
pub use diff::unified_diff;
pub use error::{status_of, ApiError};
pub use metrics::Metrics;
pub use routes::{route_template, routes, ROUTES};
pub use state::AppState;

/// The current time in Unix milliseconds (the one place `http` reads the clock).
pub(crate) fn now_ms() -> codebegen_schema::generation::UnixMillis {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}
