//! Probing a source cluster through its kubeconfig context with kube-rs: the apiserver's
//! version, SelfSubjectAccessReviews for list and watch on events, a paged list of every event,
//! and its `/metrics` when the user may read them.

use crate::apiserver_metrics::parse_apiserver_metrics;
use crate::source::{EventsFacts, SourceFacts, RATE_WINDOW_MICROS};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::Event;
use kevents_collect::Source;
use kevents_model::Micros;
use kube::api::{Api, ListParams, PostParams};
use std::time::Duration;

/// Events listed at most (pages of 500): enough for the checks on any cluster.
const MAX_EVENTS: usize = 50_000;

/// Probes `source`; never fails: what cannot be found out is a fact too.
pub async fn probe_source(source: &Source) -> SourceFacts {
    let context = source
        .context
        .clone()
        .unwrap_or_else(|| source.name.clone());
    let server = source.config.cluster_url.to_string();
    let mut config = source.config.clone();
    config.connect_timeout = Some(Duration::from_secs(10));
    config.read_timeout = Some(Duration::from_secs(20));
    let mut facts = SourceFacts {
        context,
        server,
        now: Micros::now(),
        version: Err("not asked".into()),
        access: Vec::new(),
        events: Err("not listed".into()),
        metrics: Err("not read".into()),
    };
    let client = match kube::Client::try_from(config) {
        Ok(client) => client,
        Err(e) => {
            facts.version = Err(e.to_string());
            return facts;
        }
    };
    facts.version = client
        .apiserver_version()
        .await
        .map(|info| info.git_version)
        .map_err(|e| e.to_string());
    if facts.version.is_err() {
        return facts;
    }
    for verb in ["list", "watch"] {
        facts
            .access
            .push((verb.to_string(), may(&client, verb).await));
    }
    facts.events = list_events(&client, facts.now).await;
    let request = http::Request::get("/metrics")
        .body(Vec::new())
        .expect("a GET without headers is a valid request");
    facts.metrics = client
        .request_text(request)
        .await
        .map(|text| parse_apiserver_metrics(&text))
        .map_err(|e| match e {
            kube::Error::Api(status) => format!("{} {}", status.code, status.message),
            other => other.to_string(),
        });
    facts
}

/// Whether the user may `verb` events in all namespaces.
async fn may(client: &kube::Client, verb: &str) -> Result<bool, String> {
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: Some(verb.to_string()),
                resource: Some("events".into()),
                group: Some(String::new()),
                ..ResourceAttributes::default()
            }),
            ..SelfSubjectAccessReviewSpec::default()
        },
        ..SelfSubjectAccessReview::default()
    };
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let answer = api
        .create(&PostParams::default(), &review)
        .await
        .map_err(|e| e.to_string())?;
    Ok(answer.status.is_some_and(|s| s.allowed))
}

/// Every event (up to `MAX_EVENTS`), summarised.
async fn list_events(client: &kube::Client, now: Micros) -> Result<EventsFacts, String> {
    let api: Api<Event> = Api::all(client.clone());
    let mut facts = EventsFacts::default();
    let mut params = ListParams::default().limit(500);
    loop {
        let page = api.list(&params).await.map_err(|e| match e {
            kube::Error::Api(status) => format!("{} {}", status.code, status.message),
            other => other.to_string(),
        })?;
        for event in &page.items {
            facts.total += 1;
            let namespace = event.metadata.namespace.clone().unwrap_or_default();
            *facts.per_namespace.entry(namespace).or_default() += 1;
            if let Some(updated) = last_update(event) {
                facts.oldest_update = Some(facts.oldest_update.map_or(updated, |o| o.min(updated)));
                if now.0 - updated.0 <= RATE_WINDOW_MICROS {
                    facts.recent += 1;
                }
            }
        }
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) if (facts.total as usize) < MAX_EVENTS => {
                params = params.continue_token(&token);
            }
            _ => return Ok(facts),
        }
    }
}

/// The latest time the source wrote the event: its TTL runs from there.
fn last_update(event: &Event) -> Option<Micros> {
    [
        event.last_timestamp.as_ref().map(|t| t.0),
        event.event_time.as_ref().map(|t| t.0),
        event
            .series
            .as_ref()
            .and_then(|s| s.last_observed_time.as_ref().map(|t| t.0)),
        event.metadata.creation_timestamp.as_ref().map(|t| t.0),
    ]
    .into_iter()
    .flatten()
    .map(Micros::from_jiff)
    .max()
}
