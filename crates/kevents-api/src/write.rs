//! Writes: create, update (PUT) and patch, with the apiserver's preconditions, validation and
//! Status errors.

use crate::admission::Outcome;
use crate::body::{
    decode_body, decode_value, read_body, with_warnings, FieldValidation, WriteOptions,
};
use crate::clusters::settle_cluster;
use crate::error::Reply;
use crate::error::{prefix_within, ApiError, ApiResult};
use crate::guaranteed::{guaranteed_update, Attempt};
use crate::negotiate::{body_format, patch_kind, representation, PatchKind, Representation};
use crate::patch;
use crate::query::{parse_query, parse_resource_version, IncludeObject};
use crate::respond::object_response;
use crate::state::{AppState, SharedState, Target};
use crate::uid::new_uid;
use crate::Identity;
use axum::extract::Request;
use axum::http::StatusCode;
use kevents_model::validation::{validate_create, validate_update};
use kevents_model::wire::{synthesized_event_time, DecodedEvent, EventView};
use kevents_model::{ApiGroup, EventKey, EventRecord, Micros};
use kevents_store::{Mutation, StoredEvent};
use rand::Rng;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};

/// The body's namespace must be empty or match the URL's.
fn settle_namespace(record: &mut EventRecord, namespace: &str) -> ApiResult<()> {
    if record.namespace.is_empty() {
        record.namespace = namespace.to_string();
    } else if record.namespace != namespace {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    Ok(())
}

fn check_name(record: &EventRecord, name: &str) -> ApiResult<()> {
    if record.name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({}) does not match the name on the URL ({name})",
            record.name
        )));
    }
    Ok(())
}

/// Server-owned fields of a new event.
fn stamp_new(record: &mut EventRecord) {
    record.uid = new_uid();
    record.creation_timestamp = Some(Micros::now().truncate_to_seconds());
    record.resource_version = 0;
}

/// A legacy event read through events.k8s.io shows a synthesized eventTime; when it comes back
/// unchanged it is still unset.
fn unsynthesize_event_time(record: &mut EventRecord, old: &EventRecord, group: ApiGroup) {
    if group == ApiGroup::Events
        && old.event_time.is_none()
        && record.event_time.is_some()
        && record.event_time == synthesized_event_time(old)
    {
        record.event_time = None;
    }
}

const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
const GENERATE_NAME_ATTEMPTS: usize = 8;

fn generated_name(prefix: &str) -> String {
    let mut rng = rand::rng();
    let suffix: String = (0..5)
        .map(|_| NAME_ALPHABET[rng.random_range(0..NAME_ALPHABET.len())] as char)
        .collect();
    format!("{}{suffix}", prefix_within(prefix, 58))
}

fn created_response(
    code: StatusCode,
    record: &EventRecord,
    group: ApiGroup,
    representation: Representation,
    warnings: &[String],
) -> Reply {
    let response = object_response(
        code,
        record,
        group,
        representation,
        IncludeObject::Metadata,
        None,
    )?;
    Ok(with_warnings(response, warnings))
}

/// The common start of create and update: negotiate, parse options, read and decode the body.
async fn read_object(
    state: &AppState,
    group: ApiGroup,
    query: Option<String>,
    request: Request,
) -> ApiResult<(Representation, WriteOptions, DecodedEvent, Vec<String>)> {
    let (parts, body) = request.into_parts();
    let representation = representation(&parts.headers)?;
    let format = body_format(&parts.headers)?;
    let options = WriteOptions::parse(&parse_query(query.as_deref())?)?;
    let bytes = read_body(body, &parts.headers, state.config.max_body_bytes).await?;
    let (decoded, warnings) = decode_body(&bytes, format, group, options.field_validation)?;
    Ok((representation, options, decoded, warnings))
}

/// `POST …/namespaces/{ns}/events`.
pub async fn create(
    state: SharedState,
    target: Target,
    query: Option<String>,
    request: Request,
) -> Reply {
    let user = user_of(&request);
    let (representation, options, decoded, warnings) =
        read_object(&state, target.group, query, request).await?;
    let mut record = decoded.record;
    settle_namespace(&mut record, target.namespace.as_deref().unwrap_or_default())?;
    settle_cluster(&mut record, target.write_cluster());
    stamp_new(&mut record);
    let generate = record.name.is_empty() && !record.generate_name.is_empty();
    // Like the apiserver, a generated name is chosen before validation, so errors name it.
    if generate {
        record.name = generated_name(&record.generate_name);
    }
    let errors = validate_create(&record, target.group);
    if !errors.is_empty() {
        return Err(ApiError::invalid(&record.name, &errors));
    }
    if options.dry_run {
        if state.store.get(&record.key()).is_some() {
            return Err(ApiError::already_exists(target.group, &record.name));
        }
        return created_response(
            StatusCode::CREATED,
            &record,
            target.group,
            representation,
            &warnings,
        );
    }
    state.admission.check_rate(&record, &user)?;
    let (mut record, dedupe_key) = match state
        .admission
        .create(&state.store, &state.series, target.group, record)
        .await?
    {
        Outcome::Answered(event) => {
            return created_response(
                StatusCode::CREATED,
                &event,
                target.group,
                representation,
                &warnings,
            )
        }
        Outcome::Store(record, key) => (*record, key),
    };
    if !generate {
        // One attempt: the record moves into the write.
        let name = record.name.clone();
        return match state.store.write(Mutation::Create(record)).await {
            Ok(committed) => {
                state.admission.stored(dedupe_key, &committed.object.record);
                created_response(
                    StatusCode::CREATED,
                    &committed.object.record,
                    target.group,
                    representation,
                    &warnings,
                )
            }
            Err(e) => Err(ApiError::from_store(e, target.group, &name)),
        };
    }
    for attempt in 0..GENERATE_NAME_ATTEMPTS {
        if attempt > 0 {
            record.name = generated_name(&record.generate_name);
        }
        match state.store.write(Mutation::Create(record.clone())).await {
            Ok(committed) => {
                state.admission.stored(dedupe_key, &committed.object.record);
                return created_response(
                    StatusCode::CREATED,
                    &committed.object.record,
                    target.group,
                    representation,
                    &warnings,
                );
            }
            Err(kevents_store::StoreError::AlreadyExists(_)) => continue,
            Err(e) => return Err(ApiError::from_store(e, target.group, &record.name)),
        }
    }
    Err(ApiError {
        message: format!(
            "{} {:?} already exists, the server was not able to generate a unique name for the object",
            target.group.qualified_resource(),
            record.name
        ),
        ..ApiError::already_exists(target.group, &record.name)
    })
}

/// The authenticated user of a request (empty when anonymous), for per-user rate limits.
fn user_of(request: &Request) -> String {
    request
        .extensions()
        .get::<Identity>()
        .map(|identity| identity.user.clone())
        .unwrap_or_default()
}

/// The resourceVersion precondition a body carries; empty and `"0"` mean none.
fn expected_version(decoded: &DecodedEvent) -> ApiResult<Option<u64>> {
    let expected = decoded
        .resource_version
        .as_deref()
        .map(parse_resource_version)
        .transpose()?;
    Ok(expected.filter(|rv| *rv != 0))
}

/// What `replace` did.
struct Replaced {
    record: EventRecord,
    created: bool,
}

impl Replaced {
    /// The response: 201 when the replace created the event, else 200.
    fn respond(
        &self,
        group: ApiGroup,
        representation: Representation,
        warnings: &[String],
    ) -> Reply {
        let code = if self.created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        created_response(code, &self.record, group, representation, warnings)
    }
}

/// Validates and commits `record` as a replacement of `current`, or as a new event when there
/// is none.
async fn replace(
    state: &AppState,
    group: ApiGroup,
    mut record: EventRecord,
    current: Option<&StoredEvent>,
    expected_rv: Option<u64>,
    dry_run: bool,
) -> ApiResult<Replaced> {
    let name = record.name.clone();
    let (mutation, created) = match current {
        Some(old) => {
            unsynthesize_event_time(&mut record, &old.record, group);
            if expected_rv.is_some_and(|rv| rv != old.record.resource_version) {
                return Err(ApiError::conflict(group, &name));
            }
            let errors = validate_update(&record, &old.record, group);
            if !errors.is_empty() {
                return Err(ApiError::invalid(&name, &errors));
            }
            if dry_run {
                record.uid = old.record.uid.clone();
                record.creation_timestamp = old.record.creation_timestamp;
                return Ok(Replaced {
                    record,
                    created: false,
                });
            }
            let mutation = Mutation::Update {
                record,
                // Pinned to the version validated against; a lost race is retried by callers.
                expected_rv: Some(old.record.resource_version),
            };
            (mutation, false)
        }
        None => {
            stamp_new(&mut record);
            let errors = validate_create(&record, group);
            if !errors.is_empty() {
                return Err(ApiError::invalid(&name, &errors));
            }
            if dry_run {
                return Ok(Replaced {
                    record,
                    created: true,
                });
            }
            (Mutation::Create(record), true)
        }
    };
    let committed = state
        .store
        .write(mutation)
        .await
        .map_err(|e| ApiError::from_store(e, group, &name))?;
    Ok(Replaced {
        record: committed.object.record.clone(),
        created,
    })
}

/// A replace as an attempt of a read-modify-write: a write that lost a race with another
/// writer is retried on fresh state, unless the client pinned the version it replaces.
fn retry_unless_pinned<T>(result: ApiResult<T>, expected_rv: Option<u64>) -> ApiResult<Attempt<T>> {
    match result {
        Ok(done) => Ok(Attempt::Done(done)),
        Err(e) if expected_rv.is_none() && lost_race(&e) => Ok(Attempt::LostRace),
        Err(e) => Err(e),
    }
}

/// True for the errors of a write that lost a race and may be retried on fresh state.
fn lost_race(error: &ApiError) -> bool {
    matches!(error.reason, "Conflict" | "AlreadyExists" | "NotFound")
}

/// `PUT …/namespaces/{ns}/events/{name}`: replaces the event, or creates it when missing.
pub async fn update(
    state: SharedState,
    target: Target,
    query: Option<String>,
    request: Request,
) -> Reply {
    let user = user_of(&request);
    let (representation, options, decoded, warnings) =
        read_object(&state, target.group, query, request).await?;
    let name = target.name.clone().unwrap_or_default();
    let namespace = target.namespace.clone().unwrap_or_default();
    let expected_rv = expected_version(&decoded)?;
    let mut record = decoded.record;
    check_name(&record, &name)?;
    settle_namespace(&mut record, &namespace)?;
    settle_cluster(&mut record, target.write_cluster());
    let key = record.key();
    if !options.dry_run {
        state.admission.check_rate(&record, &user)?;
    }
    let (shared, group, dry_run, record) = (&state, target.group, options.dry_run, &record);
    let replaced = guaranteed_update(&state.store, group, &key, move |current| async move {
        let record = record.clone();
        let result = replace(
            shared,
            group,
            record,
            current.as_deref(),
            expected_rv,
            dry_run,
        );
        retry_unless_pinned(result.await, expected_rv)
    })
    .await?;
    replaced.respond(target.group, representation, &warnings)
}

/// Where a patched document keeps its resourceVersion.
const RESOURCE_VERSION: &str = "/metadata/resourceVersion";

/// JSON patches with more operations are refused, as the apiserver does.
const MAX_JSON_PATCH_OPERATIONS: usize = 10_000;

/// What `patch` makes of `document`, an event's JSON form through `group`: the patched event,
/// decoded, and its warnings. A resourceVersion the patch left unchanged is dropped (it is no
/// precondition).
pub(crate) fn patched_event(
    kind: PatchKind,
    mut document: Value,
    patch: &[u8],
    limits: &patch::Limits,
    group: ApiGroup,
    validation: FieldValidation,
) -> ApiResult<(DecodedEvent, Vec<String>)> {
    let base_rv = document.pointer(RESOURCE_VERSION).cloned();
    patch::apply(kind, &mut document, patch, limits)?;
    if document.pointer(RESOURCE_VERSION) == base_rv.as_ref() {
        if let Some(Value::Object(metadata)) = document.get_mut("metadata") {
            metadata.remove("resourceVersion");
        }
    }
    decode_value(document, group, validation)
}

/// `PATCH …/namespaces/{ns}/events/{name}`.
pub async fn patch(
    state: SharedState,
    target: Target,
    query: Option<String>,
    request: Request,
) -> Reply {
    let user = user_of(&request);
    let (parts, body) = request.into_parts();
    let representation = representation(&parts.headers)?;
    let kind = patch_kind(&parts.headers)?;
    let options = WriteOptions::parse(&parse_query(query.as_deref())?)?;
    let bytes = read_body(body, &parts.headers, state.config.max_body_bytes).await?;
    let group = target.group;
    let name = target.name.clone().unwrap_or_default();
    let namespace = target.namespace.clone().unwrap_or_default();
    let key = EventKey::in_cluster(target.write_cluster(), &namespace, &name);
    let limits = patch::Limits {
        max_operations: MAX_JSON_PATCH_OPERATIONS,
        max_document_bytes: state.config.max_body_bytes,
    };
    let charged = AtomicBool::new(options.dry_run);
    let (shared, user, charged, name, namespace) = (&state, &user, &charged, &name, &namespace);
    let (bytes, limits, options, target) = (&bytes, &limits, &options, &target);
    let patched = guaranteed_update(&state.store, group, &key, move |current| async move {
        if !charged.swap(true, Ordering::Relaxed) {
            if let Some(current) = &current {
                shared.admission.check_rate(&current.record, user)?;
            }
        }
        let document = match (&current, kind) {
            (Some(current), _) => serde_json::to_value(EventView::new(&current.record, group))
                .map_err(ApiError::internal)?,
            // Server-side apply creates what does not exist.
            (None, PatchKind::Apply) => json!({"metadata": {"name": name, "namespace": namespace}}),
            (None, _) => return Err(ApiError::not_found(group, name)),
        };
        let (decoded, warnings) = patched_event(
            kind,
            document,
            bytes,
            limits,
            group,
            options.field_validation,
        )?;
        let expected_rv = expected_version(&decoded)?;
        let mut record = decoded.record;
        check_name(&record, name)?;
        settle_namespace(&mut record, namespace)?;
        settle_cluster(&mut record, target.write_cluster());
        let result = replace(
            shared,
            group,
            record,
            current.as_deref(),
            expected_rv,
            options.dry_run,
        );
        // Someone else wrote first: patch the newer version, unless the client pinned one.
        let replaced = retry_unless_pinned(result.await, expected_rv)?;
        Ok(match replaced {
            Attempt::Done(replaced) => Attempt::Done((replaced, warnings)),
            Attempt::LostRace => Attempt::LostRace,
        })
    })
    .await;
    let (replaced, warnings) = patched?;
    replaced.respond(group, representation, &warnings)
}
