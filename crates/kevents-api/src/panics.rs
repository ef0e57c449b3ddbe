//! The last line of defence against a bug reachable from a request: a handler that panics
//! answers a `500 InternalError` Status instead of dropping the connection, and is counted.
//! The panic is logged once, by the process's panic hook ([`log_panics_briefly`]).

use crate::error::ApiError;
use crate::state::SharedState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::FutureExt;
use std::panic::AssertUnwindSafe;

/// Middleware running the rest of the stack under `catch_unwind`.
pub async fn catch(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    // Handlers share state only through locks and channels that stay consistent when a
    // holder unwinds (parking_lot does not poison; a dropped sender is a closed channel).
    match AssertUnwindSafe(next.run(request)).catch_unwind().await {
        Ok(response) => response,
        Err(_) => {
            state.metrics.handler_panicked();
            ApiError::internal(
                "the request caused the server to panic; the server log has the details",
            )
            .into_response()
        }
    }
}

/// Replaces the panic hook with one that logs a panic as one error line (message and
/// location), never a backtrace, so a request that keeps hitting a bug cannot flood the log.
pub fn log_panics_briefly() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".to_string());
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let thread = std::thread::current();
        tracing::error!(
            thread = thread.name().unwrap_or("unnamed"),
            %location,
            "panicked: {message}"
        );
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AppState;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_panicking_handler_answers_500_internal_error_and_is_counted() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            kevents_store::Store::open(kevents_store::StoreConfig::new(dir.path())).unwrap();
        let (_tx, shutdown) = tokio::sync::watch::channel(false);
        let state = std::sync::Arc::new(AppState::new(store, shutdown));
        let app = axum::Router::new()
            .route(
                "/boom",
                get(|| async {
                    let empty: Vec<u8> = Vec::new();
                    // Input-like indexing that a bug could reach.
                    format!("{}", empty[std::hint::black_box(3)])
                }),
            )
            .layer(axum::middleware::from_fn_with_state(state.clone(), catch))
            .with_state(state.clone());
        for _ in 0..2 {
            let response = app
                .clone()
                .oneshot(Request::get("/boom").body(Body::empty()).unwrap())
                .await
                .unwrap();
            assert_eq!(response.status(), 500);
            let body = http_body_util::BodyExt::collect(response.into_body())
                .await
                .unwrap()
                .to_bytes();
            let status: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(status["kind"], "Status");
            assert_eq!(status["reason"], "InternalError");
            assert_eq!(status["code"], 500);
        }
        assert_eq!(state.metrics.handler_panics(), 2);
    }
}
