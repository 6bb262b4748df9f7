//! The one error shape (`{"error": {"code", "message"}}`), the one table from
//! [`ErrorCode`] to HTTP status, and the recovery of warp rejections into that shape.
//!
//! Invariant: no response ever carries internal details; `Internal` and `Unavailable` errors
//! are logged with their cause and answered with a generic sentence.

use std::convert::Infallible;

use codebegen_actors::service::ServiceError;
use codebegen_schema::generation::{ErrorBody, ErrorCode};
use codebegen_store::StoreError;
use serde::Serialize;
use warp::http::header::{HeaderValue, ALLOW, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Rejection;

/// The HTTP status of an error code: the only place this mapping lives.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
        ErrorCode::InvalidInput | ErrorCode::GateFailed => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Conflict => StatusCode::CONFLICT,
        ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Timeout => StatusCode::GATEWAY_TIMEOUT,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An error on its way to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The code; decides the status.
    pub code: ErrorCode,
    /// A sentence for a person.
    pub message: String,
    /// Seconds for `Retry-After` (rate limits).
    pub retry_after_s: Option<u64>,
    /// Methods for `Allow` on a 405 (see [`ApiError::method_not_allowed`]).
    allow: Option<String>,
}

impl warp::reject::Reject for ApiError {}

#[derive(Serialize)]
struct Envelope<'a> {
    error: &'a ErrorBody,
}

impl ApiError {
    /// An error with a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            retry_after_s: None,
            allow: None,
        }
    }

    /// 422.
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::InvalidInput, message)
    }

    /// 401.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Unauthorized, message)
    }

    /// 404, the same for missing things and other users' things.
    pub fn not_found() -> ApiError {
        ApiError::new(ErrorCode::NotFound, "not found")
    }

    /// 409.
    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Conflict, message)
    }

    /// 500 with a generic message; `detail` goes to the log only.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %detail, "internal error");
        ApiError::new(ErrorCode::Internal, "internal error")
    }

    /// 503 with a generic message; `detail` goes to the log only.
    pub fn unavailable(detail: impl std::fmt::Display) -> ApiError {
        tracing::warn!(error = %detail, "dependency unavailable");
        ApiError::new(ErrorCode::Unavailable, "service temporarily unavailable")
    }

    /// 405 for a known route with another method. [`ErrorCode`] has no code of its own for it,
    /// so the body says `bad_request` while the status is 405 and `Allow` lists the methods.
    pub fn method_not_allowed(allow: &[&str]) -> ApiError {
        let mut error = ApiError::new(ErrorCode::BadRequest, "method not allowed for this route");
        error.allow = Some(allow.join(", "));
        error
    }

    /// The status this error is answered with.
    pub fn status(&self) -> StatusCode {
        if self.allow.is_some() {
            StatusCode::METHOD_NOT_ALLOWED
        } else {
            status_of(self.code)
        }
    }

    /// The JSON response, with `WWW-Authenticate`, `Retry-After` or `Allow` where they apply.
    pub fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code,
            message: self.message.clone(),
        };
        let json = serde_json::to_vec(&Envelope { error: &body }).unwrap_or_else(|_| {
            br#"{"error":{"code":"internal","message":"internal error"}}"#.to_vec()
        });
        let mut response = Response::new(json.into());
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if self.code == ErrorCode::Unauthorized {
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = self.retry_after_s {
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(allow) = self
            .allow
            .as_deref()
            .and_then(|a| HeaderValue::from_str(a).ok())
        {
            headers.insert(ALLOW, allow);
        }
        response
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> ApiError {
        match err {
            ServiceError::RateLimited {
                retry_after_s,
                message,
            } => {
                let mut error = ApiError::new(ErrorCode::RateLimited, message);
                error.retry_after_s = Some(retry_after_s.max(1));
                error
            }
            ServiceError::NotFound => ApiError::not_found(),
            ServiceError::InvalidInput(message) => ApiError::invalid(message),
            ServiceError::Conflict(message) => ApiError::conflict(message),
            ServiceError::Unavailable(detail) => ApiError::unavailable(detail),
            ServiceError::Internal(detail) => ApiError::internal(detail),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> ApiError {
        match err {
            StoreError::Conflict(message) => ApiError::conflict(message),
            StoreError::Unavailable(detail) => ApiError::unavailable(detail),
            StoreError::Corrupt(detail) => ApiError::internal(detail),
        }
    }
}

/// Turns every rejection into the error shape: our own [`ApiError`]s, warp's known ones, and
/// 404/405 decided from the route table; anything else is a logged 500.
pub async fn recover(rejection: Rejection) -> Result<Response, Infallible> {
    Ok(rejection_to_error(&rejection).into_response())
}

fn rejection_to_error(rejection: &Rejection) -> ApiError {
    use warp::reject::{
        InvalidHeader, InvalidQuery, LengthRequired, MethodNotAllowed, MissingHeader,
        PayloadTooLarge, UnsupportedMediaType,
    };
    if let Some(error) = rejection.find::<ApiError>() {
        return error.clone();
    }
    if rejection.find::<PayloadTooLarge>().is_some() || rejection.find::<LengthRequired>().is_some()
    {
        return crate::body::too_large();
    }
    if rejection.find::<UnsupportedMediaType>().is_some() {
        return crate::body::unsupported_media_type();
    }
    if let Some(header) = rejection.find::<InvalidHeader>() {
        return ApiError::new(
            ErrorCode::BadRequest,
            format!("invalid header {}", header.name()),
        );
    }
    if let Some(header) = rejection.find::<MissingHeader>() {
        return ApiError::new(
            ErrorCode::BadRequest,
            format!("missing header {}", header.name()),
        );
    }
    if rejection.find::<InvalidQuery>().is_some() {
        return ApiError::new(ErrorCode::BadRequest, "invalid query string");
    }
    // Only now: a route that matched path and method but rejected its input ranks above this.
    if let Some(route) = rejection.find::<crate::routes::Unrouted>() {
        return route.to_error();
    }
    if rejection.is_not_found() || rejection.find::<MethodNotAllowed>().is_some() {
        return ApiError::new(ErrorCode::NotFound, "no such route");
    }
    ApiError::internal(format_args!("unhandled rejection: {rejection:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(code: ErrorCode, status: u16) {
        assert_eq!(status_of(code).as_u16(), status, "{code:?}");
    }

    #[test]
    fn every_code_has_its_status() {
        check(ErrorCode::BadRequest, 400);
        check(ErrorCode::InvalidInput, 422);
        check(ErrorCode::Unauthorized, 401);
        check(ErrorCode::NotFound, 404);
        check(ErrorCode::Conflict, 409);
        check(ErrorCode::PayloadTooLarge, 413);
        check(ErrorCode::UnsupportedMediaType, 415);
        check(ErrorCode::RateLimited, 429);
        check(ErrorCode::Unavailable, 503);
        check(ErrorCode::Timeout, 504);
        check(ErrorCode::GateFailed, 422);
        check(ErrorCode::Internal, 500);
    }

    #[test]
    fn internal_details_never_reach_the_body() {
        let error = ApiError::from(ServiceError::Internal("db password is hunter2".into()));
        assert_eq!(
            (error.status().as_u16(), error.message.as_str()),
            (500, "internal error")
        );
        let error = ApiError::from(StoreError::Unavailable("10.0.0.7:9042 refused".into()));
        assert_eq!(error.status().as_u16(), 503);
        assert!(!error.message.contains("10.0.0.7"));
    }

    #[test]
    fn rate_limits_carry_retry_after() {
        let error = ApiError::from(ServiceError::RateLimited {
            retry_after_s: 42,
            message: "5 per hour".into(),
        });
        let response = error.into_response();
        assert_eq!(response.status(), 429);
        assert_eq!(
            response.headers().get(RETRY_AFTER).map(|v| v.as_bytes()),
            Some(&b"42"[..])
        );
    }
}
