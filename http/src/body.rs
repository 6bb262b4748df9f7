//! Request bodies and query strings: the JSON body filter (content type, 64 KiB limit, malformed
//! vs invalid) and the pagination query.
//!
//! A body that is not JSON is `bad_request` (400); JSON of the wrong shape (unknown fields,
//! wrong types, missing fields) is `invalid_input` (422).

use bytes::{Buf, Bytes, BytesMut};
use codebegen_schema::generation::ErrorCode;
use futures_util::{Stream, StreamExt};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use warp::{Filter, Rejection};

use crate::error::ApiError;

/// The largest accepted body.
pub const MAX_BODY_BYTES: u64 = 64 * 1024;

/// Default and largest page sizes.
pub const DEFAULT_PAGE: u32 = 20;
/// See [`DEFAULT_PAGE`].
pub const MAX_PAGE: u32 = 100;

pub(crate) fn too_large() -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("the body is larger than {MAX_BODY_BYTES} bytes"),
    )
}

pub(crate) fn unsupported_media_type() -> ApiError {
    ApiError::new(
        ErrorCode::UnsupportedMediaType,
        "the body must be application/json",
    )
}

/// A JSON body of type `T`: checks `Content-Type`, then the declared `Content-Length` (413
/// before reading), then the bytes actually read (413 for chunked bodies), then parses.
pub(crate) fn json<T: DeserializeOwned + Send>(
) -> impl Filter<Extract = (T,), Error = Rejection> + Clone {
    warp::header::optional::<String>("content-type")
        .and(warp::header::optional::<String>("content-length"))
        .and_then(
            |content_type: Option<String>, length: Option<String>| async move {
                check_headers(content_type.as_deref(), length.as_deref())
                    .map_err(warp::reject::custom)
            },
        )
        .untuple_one()
        .and(warp::body::stream())
        .and_then(|stream| async move {
            let bytes = read_limited(stream).await.map_err(warp::reject::custom)?;
            parse::<T>(&bytes).map_err(warp::reject::custom)
        })
}

fn check_headers(content_type: Option<&str>, length: Option<&str>) -> Result<(), ApiError> {
    if !is_json(content_type.unwrap_or_default()) {
        return Err(unsupported_media_type());
    }
    match length.map(|l| l.trim().parse::<u64>()) {
        Some(Ok(length)) if length > MAX_BODY_BYTES => Err(too_large()),
        Some(Err(_)) => Err(ApiError::new(
            ErrorCode::BadRequest,
            "invalid content-length",
        )),
        _ => Ok(()),
    }
}

/// `application/json` or `application/<something>+json`, any parameters.
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

async fn read_limited<S, B>(stream: S) -> Result<Bytes, ApiError>
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let mut stream = std::pin::pin!(stream);
    let mut collected = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let mut chunk = chunk.map_err(|err| {
            tracing::debug!(error = %err, "body read failed");
            ApiError::new(ErrorCode::BadRequest, "the body could not be read")
        })?;
        if (collected.len() + chunk.remaining()) as u64 > MAX_BODY_BYTES {
            return Err(too_large());
        }
        while chunk.has_remaining() {
            let part = chunk.chunk();
            collected.extend_from_slice(part);
            let n = part.len();
            chunk.advance(n);
        }
    }
    Ok(collected.freeze())
}

/// Parses a body: syntax errors are 400, shape errors 422.
pub(crate) fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    use serde_json::error::Category;
    serde_json::from_slice(bytes).map_err(|err| match err.classify() {
        Category::Data => ApiError::invalid(strip_position(&err.to_string())),
        Category::Syntax | Category::Eof | Category::Io => {
            ApiError::new(ErrorCode::BadRequest, format!("malformed JSON: {err}"))
        }
    })
}

/// serde's messages end in " at line 1 column 17", which is noise for a shape error.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_string(),
        None => message.to_string(),
    }
}

/// `?limit=&cursor=` (plus `project_id` on generations, read separately).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PageQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl PageQuery {
    /// The page size, 1..=[`MAX_PAGE`].
    pub fn limit(&self) -> Result<u32, ApiError> {
        match self.limit {
            None => Ok(DEFAULT_PAGE),
            Some(limit) if (1..=MAX_PAGE).contains(&limit) => Ok(limit),
            Some(_) => Err(ApiError::invalid(format!(
                "limit must be between 1 and {MAX_PAGE}"
            ))),
        }
    }
}

/// A store's `Conflict` on a listing means a cursor it never handed out.
pub(crate) fn cursor_error(err: codebegen_store::StoreError) -> ApiError {
    match err {
        codebegen_store::StoreError::Conflict(_) => ApiError::invalid("invalid cursor"),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Login {
        #[allow(dead_code)]
        email: String,
    }

    fn check(body: &str, expected: Option<ErrorCode>) {
        assert_eq!(
            parse::<Login>(body.as_bytes()).err().map(|e| e.code),
            expected,
            "{body}"
        );
    }

    #[test]
    fn malformed_is_400_and_misshapen_is_422() {
        check(r#"{"email":"a@b.c"}"#, None);
        check(r#"{"email":"#, Some(ErrorCode::BadRequest));
        check("not json", Some(ErrorCode::BadRequest));
        check("", Some(ErrorCode::BadRequest));
        check(
            r#"{"email":"a@b.c","admin":true}"#,
            Some(ErrorCode::InvalidInput),
        );
        check(r#"{"email":5}"#, Some(ErrorCode::InvalidInput));
        check(r#"{}"#, Some(ErrorCode::InvalidInput));
    }

    #[tokio::test]
    async fn chunked_bodies_are_cut_off_at_the_limit() {
        let chunk = || Ok::<Bytes, warp::Error>(Bytes::from(vec![b' '; 16 * 1024]));
        let four = futures_util::stream::iter((0..4).map(|_| chunk()));
        assert_eq!(read_limited(four).await.map(|b| b.len()), Ok(64 * 1024));
        let five = futures_util::stream::iter((0..5).map(|_| chunk()));
        assert_eq!(
            read_limited(five).await.err().map(|e| e.code),
            Some(ErrorCode::PayloadTooLarge)
        );
    }

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json(""));
    }
}
