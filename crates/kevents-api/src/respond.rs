//! Building responses: JSON bodies, lists and single objects in the negotiated representation.

use crate::error::ApiError;
use crate::negotiate::Representation;
use crate::query::IncludeObject;
use crate::table::{Row, Table};
use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use kevents_model::wire::EventView;
use kevents_model::{ApiGroup, EventRecord, Micros};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::{json, Value};

/// A JSON response with `code`.
pub fn json_response(code: StatusCode, body: &impl Serialize) -> Result<Response, ApiError> {
    let bytes = serde_json::to_vec(body).map_err(ApiError::internal)?;
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = code;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

/// A YAML response with `code`.
pub fn yaml_response(code: StatusCode, body: &impl Serialize) -> Result<Response, ApiError> {
    let value = serde_json::to_value(body).map_err(ApiError::internal)?;
    let text = serde_saphyr::to_string(&value).map_err(ApiError::internal)?;
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = code;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/yaml"),
    );
    Ok(response)
}

/// One event, as JSON, YAML or a one-row Table.
pub fn object_response(
    code: StatusCode,
    event: &EventRecord,
    group: ApiGroup,
    representation: Representation,
    include: IncludeObject,
    cluster_column: Option<&str>,
) -> Result<Response, ApiError> {
    match representation {
        Representation::Json => json_response(code, &EventView::new(event, group)),
        Representation::Yaml => yaml_response(code, &EventView::new(event, group)),
        Representation::Table => json_response(
            code,
            &Table {
                rows: vec![Row {
                    event,
                    group,
                    include,
                    now: Micros::now(),
                    cluster_column,
                }],
                metadata: serde_json::json!({"resourceVersion": event.resource_version.to_string()}),
                with_columns: true,
                cluster_column: cluster_column.is_some(),
            },
        ),
    }
}

struct EventList<'a> {
    group: ApiGroup,
    metadata: Value,
    items: &'a [&'a EventRecord],
}

impl Serialize for EventList<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry("kind", "EventList")?;
        map.serialize_entry("apiVersion", self.group.api_version())?;
        map.serialize_entry("metadata", &self.metadata)?;
        let items: Vec<EventView<'_>> = self
            .items
            .iter()
            .map(|e| EventView::new(e, self.group))
            .collect();
        map.serialize_entry("items", &items)?;
        map.end()
    }
}

/// A list, as an `EventList` or a Table.
pub fn list_response(
    items: &[&EventRecord],
    group: ApiGroup,
    metadata: Value,
    representation: Representation,
    include: IncludeObject,
    cluster_column: Option<&str>,
) -> Result<Response, ApiError> {
    match representation {
        Representation::Json => json_response(
            StatusCode::OK,
            &EventList {
                group,
                metadata,
                items,
            },
        ),
        Representation::Yaml => yaml_response(
            StatusCode::OK,
            &EventList {
                group,
                metadata,
                items,
            },
        ),
        Representation::Table => {
            let now = Micros::now();
            let rows = items
                .iter()
                .map(|event| Row {
                    event,
                    group,
                    include,
                    now,
                    cluster_column,
                })
                .collect();
            json_response(
                StatusCode::OK,
                &Table {
                    rows,
                    metadata,
                    with_columns: true,
                    cluster_column: cluster_column.is_some(),
                },
            )
        }
    }
}

/// A `meta.k8s.io/v1` `Table` of `rows` under `columns`.
pub(crate) fn table(columns: Value, rows: Vec<Value>, metadata: Value) -> Value {
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata, "columnDefinitions": columns, "rows": rows})
}

/// A Table row: its cells and the object (whole, or only its metadata).
pub(crate) fn row(cells: Value, object: &Value, with_object: bool) -> Value {
    let object = if with_object {
        object.clone()
    } else {
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": object["metadata"]})
    };
    json!({"cells": cells, "object": object})
}

/// One object in the negotiated representation; `table` builds the Table form on demand.
pub(crate) fn respond(
    representation: Representation,
    object: Value,
    table: impl FnOnce() -> Value,
) -> Result<Response, ApiError> {
    match representation {
        Representation::Json => json_response(StatusCode::OK, &object),
        Representation::Yaml => yaml_response(StatusCode::OK, &object),
        Representation::Table => json_response(StatusCode::OK, &table()),
    }
}

/// A watch response of JSON lines that `feed` sends; the stream ends when `feed` returns, the
/// client leaves, `timeout` passes or the server shuts down.
pub(crate) fn line_watch<F>(
    shutdown: tokio::sync::watch::Receiver<bool>,
    timeout: Option<std::time::Duration>,
    feed: impl FnOnce(tokio::sync::mpsc::Sender<bytes::Bytes>) -> F,
) -> Response
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let (sender, receiver) = tokio::sync::mpsc::channel::<bytes::Bytes>(256);
    let run = feed(sender);
    let mut shutdown = shutdown;
    tokio::spawn(async move {
        let stop = async move {
            if shutdown.wait_for(|stopping| *stopping).await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        let deadline = async move {
            match timeout {
                Some(t) => tokio::time::sleep(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = run => {}
            _ = deadline => {}
            _ = stop => {}
        }
    });
    let stream = tokio_stream::wrappers::ReceiverStream::new(receiver);
    let body = Body::from_stream(futures::StreamExt::map(
        stream,
        Ok::<bytes::Bytes, std::io::Error>,
    ));
    let mut response = Response::new(body);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
