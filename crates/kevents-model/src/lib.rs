//! The kevents data model: the internal [`EventRecord`], its two Kubernetes wire forms
//! (core/v1 and events.k8s.io/v1), the apiserver's validation, field/label selectors, the
//! `match` language of alert rules and sink routes, the `{{ field }}` templates of rules,
//! sinks and triggers, the files that list named sinks and triggers, and cluster names.
#![warn(missing_docs)]

mod api_group;
mod cluster_name;
mod entries_file;
mod event_match;
mod field_selector;
mod glob;
mod label_selector;
pub mod proto;
mod record;
mod template;
mod time;
pub mod validation;
pub mod wire;

pub use api_group::ApiGroup;
pub use cluster_name::validate_cluster_name;
pub use entries_file::{EntriesFile, EntriesFileError};
pub use event_match::{EventMatcher, MatchError, MatchField, MatchSpec, OneOrMany};
pub use field_selector::{EventField, FieldRequirement, FieldSelector, FieldSelectorError};
pub use glob::glob_match;
pub use label_selector::{LabelOperator, LabelRequirement, LabelSelector, LabelSelectorError};
pub use record::{EventKey, EventRecord, ObjectRef, Series};
pub use template::{Template, TemplateError};
pub use time::{human_duration, parse_go_duration, Micros};
