//! Writing simulated events into a hub the way client-go's legacy recorder does: a `POST` per
//! new event, a strategic merge `PATCH` per repeat.

use kevents_http::hub::{HubClient, HubError, HubRequest};
use kevents_http::Method;
use kevents_model::wire::EventView;
use kevents_model::{ApiGroup, EventRecord};
use serde_json::json;

/// Creates `event` through core/v1; returns the HTTP status.
pub async fn create(hub: &HubClient, event: &EventRecord) -> Result<u16, HubError> {
    let body = serde_json::to_vec(&EventView::new(event, ApiGroup::Core))
        .expect("an event view is plain JSON");
    let path = format!("/api/v1/namespaces/{}/events", event.namespace);
    Ok(hub
        .send(HubRequest::json(Method::POST, &path, body))
        .await?
        .status)
}

/// Records a repeat: a strategic merge PATCH of `count`, `lastTimestamp` and `message`, falling
/// back to a create when the event is gone; returns the HTTP status.
pub async fn repeat(hub: &HubClient, event: &EventRecord) -> Result<u16, HubError> {
    let patch = json!({
        "count": event.count,
        "lastTimestamp": event.last_timestamp.map(|t| t.to_time_string()),
        "message": event.message,
    });
    let path = format!(
        "/api/v1/namespaces/{}/events/{}",
        event.namespace, event.name
    );
    let request = HubRequest {
        content_type: "application/strategic-merge-patch+json",
        ..HubRequest::json(Method::PATCH, &path, patch.to_string())
    };
    let status = hub.send(request).await?.status;
    if status == 404 {
        return create(hub, event).await;
    }
    Ok(status)
}
