//! Runs a handler so that nothing escapes: errors become the error shape, a panic becomes a
//! logged 500, and a handler past its deadline becomes a 504.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use codebegen_schema::generation::ErrorCode;
use futures_util::FutureExt as _;
use warp::reply::Response;

use crate::error::ApiError;

/// The deadline for one request (streams only count until their headers are ready).
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Awaits `handler` under [`REQUEST_TIMEOUT`], catching panics.
pub(crate) async fn run<F>(handler: F) -> Response
where
    F: Future<Output = Result<Response, ApiError>>,
{
    let guarded = AssertUnwindSafe(handler).catch_unwind();
    match tokio::time::timeout(REQUEST_TIMEOUT, guarded).await {
        Ok(Ok(Ok(response))) => response,
        Ok(Ok(Err(error))) => error.into_response(),
        Ok(Err(panic)) => {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic".to_string());
            ApiError::internal(format_args!("handler panicked: {detail}")).into_response()
        }
        Err(_) => {
            tracing::warn!(timeout_s = REQUEST_TIMEOUT.as_secs(), "request timed out");
            ApiError::new(ErrorCode::Timeout, "the request took too long").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn panics_become_500() {
        let response = run(async {
            if REQUEST_TIMEOUT.as_secs() > 0 {
                panic!("secret detail");
            }
            Ok(warp::reply::Response::default())
        })
        .await;
        assert_eq!(response.status(), 500);
    }
}
