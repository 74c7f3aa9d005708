//! [`AppError`], the one error type of the HTTP handlers, and
//! [`StoreError`], what the sled store can fail with.

use std::fmt;

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use plugboard_registry_types::api::ErrorBody;

/// An error answered to an HTTP client: a status and a message that names
/// the problem and the fix, rendered as `{"errors":[{"detail":"…"}]}`.
///
/// Handlers return `Result<_, AppError>`; `?` converts store failures (500,
/// logged, details kept out of the answer) and axum's extractor rejections
/// (their own status, their own text).
#[derive(Debug)]
pub struct AppError {
    status: StatusCode,
    detail: String,
    retry_after: Option<u64>,
}

impl AppError {
    /// An error with any status.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: detail.into(),
            retry_after: None,
        }
    }

    /// 400: the request is malformed.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    /// 401: no token, or a token the registry does not know.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, detail)
    }

    /// 403: the token is known but may not do this.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, detail)
    }

    /// 404: no such plugin, version or user.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }

    /// 409: the request conflicts with what exists (a version, a name).
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, detail)
    }

    /// 422: well-formed, but the content is refused (package, signature, name).
    pub fn unprocessable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, detail)
    }

    /// 429: too many requests; the client may retry after `retry_after` seconds.
    pub fn too_many_requests(detail: impl Into<String>, retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, detail)
        }
    }

    /// 500: the registry failed. Log the cause; the client sees only `detail`.
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, detail)
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.detail)
    }
}

impl std::error::Error for AppError {}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(status = self.status.as_u16(), "{}", self.detail);
        } else {
            tracing::debug!(status = self.status.as_u16(), "{}", self.detail);
        }
        let mut response = (self.status, Json(ErrorBody::new(self.detail))).into_response();
        let headers = response.headers_mut();
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"plugboard-registry\""),
            );
        }
        response
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        tracing::error!("store: {error}");
        Self::internal(
            "the registry's database failed; nothing was changed by this request. Try again \
             later, and tell the registry's operators if it keeps happening",
        )
    }
}

/// Extractor rejections keep their status and text, with a hint.
macro_rules! from_rejection {
    ($($rejection:ty => $hint:literal),* $(,)?) => {$(
        impl From<$rejection> for AppError {
            fn from(rejection: $rejection) -> Self {
                Self::new(rejection.status(), format!("{}; {}", rejection.body_text(), $hint))
            }
        }
    )*};
}

from_rejection! {
    JsonRejection => "send a JSON body with `Content-Type: application/json` as docs/registry-api.md describes",
    QueryRejection => "check the query parameters against docs/registry-api.md",
    PathRejection => "check the path against docs/registry-api.md",
}

/// Why the registry's sled store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// sled reported an error (I/O, corruption, a locked directory).
    #[error("the registry database failed: {0}")]
    Sled(#[from] sled::Error),
    /// A stored record does not parse.
    #[error(
        "the registry database holds a broken record in `{tree}` ({problem}); restore the data \
         directory from a backup"
    )]
    Corrupt {
        /// The sled tree holding the record.
        tree: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// The operating system's random number generator failed.
    #[error("could not draw random bytes for a token: {0}")]
    Randomness(String),
    /// A password that the rules refuse, or that could not be hashed.
    #[error("{0}")]
    Password(String),
    /// A user name that the rules refuse.
    #[error("`{name}` is not a valid user name: {problem}")]
    InvalidUser {
        /// The refused name.
        name: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
}

impl From<sled::transaction::TransactionError<StoreError>> for StoreError {
    fn from(error: sled::transaction::TransactionError<StoreError>) -> Self {
        match error {
            sled::transaction::TransactionError::Abort(e) => e,
            sled::transaction::TransactionError::Storage(e) => StoreError::Sled(e),
        }
    }
}
