//! The served resources: their kinds and Table columns.

/// A column of a served resource's Table: its header and where its value is in the object.
pub(super) struct Column {
    pub name: &'static str,
    /// `string`, `integer`, or `age` (the time at `path`, printed as an age).
    pub format: &'static str,
    pub description: &'static str,
    pub path: &'static [&'static str],
}

/// What the API needs to know of a served resource.
pub(super) struct Resource {
    pub plural: &'static str,
    pub kind: &'static str,
    pub columns: &'static [Column],
}

const fn column(
    name: &'static str,
    format: &'static str,
    description: &'static str,
    path: &'static [&'static str],
) -> Column {
    Column {
        name,
        format,
        description,
        path,
    }
}

/// Firings of triggers.
pub(super) const TRIGGER_RUNS: Resource = Resource {
    plural: "triggerruns",
    kind: "TriggerRun",
    columns: &[
        column("Name", "string", "Name of the run.", &["metadata", "name"]),
        column(
            "Trigger",
            "string",
            "The trigger that fired.",
            &["spec", "trigger"],
        ),
        column(
            "Action",
            "string",
            "What it does.",
            &["spec", "action", "type"],
        ),
        column(
            "Result",
            "string",
            "Pending, Succeeded, Failed, DryRun.",
            &["status", "phase"],
        ),
        column(
            "Attempts",
            "integer",
            "Attempts made.",
            &["status", "attempts"],
        ),
        column(
            "Suppressed",
            "integer",
            "Firings suppressed since this run (cooldown, rate limit, pause).",
            &["status", "suppressed", "total"],
        ),
        column(
            "Age",
            "age",
            "When it fired.",
            &["metadata", "creationTimestamp"],
        ),
    ],
};

/// The rule engine's alerts: pending, firing, recently resolved.
pub(super) const ALERTS: Resource = Resource {
    plural: "alerts",
    kind: "Alert",
    columns: &[
        column(
            "Name",
            "string",
            "Name of the alert.",
            &["metadata", "name"],
        ),
        column("Rule", "string", "The rule (alertname).", &["spec", "rule"]),
        column(
            "Severity",
            "string",
            "The severity label.",
            &["spec", "severity"],
        ),
        column(
            "State",
            "string",
            "pending, firing or resolved.",
            &["status", "state"],
        ),
        column(
            "Value",
            "string",
            "The condition's current value.",
            &["status", "value"],
        ),
        column(
            "Count",
            "integer",
            "Occurrences counted.",
            &["status", "count"],
        ),
        column(
            "Active",
            "age",
            "Since the condition began to hold.",
            &["status", "activeSince"],
        ),
        column(
            "Summary",
            "string",
            "The summary annotation.",
            &["spec", "annotations", "summary"],
        ),
    ],
};

/// Loaded triggers.
pub(super) const TRIGGERS: Resource = Resource {
    plural: "triggers",
    kind: "Trigger",
    columns: &[
        column(
            "Name",
            "string",
            "Name of the trigger.",
            &["metadata", "name"],
        ),
        column("Action", "string", "What it does.", &["spec", "action"]),
        column(
            "Paused",
            "string",
            "Whether the kill switch is on.",
            &["spec", "paused"],
        ),
        column(
            "Dry Run",
            "string",
            "Whether it only records.",
            &["spec", "dryRun"],
        ),
        column(
            "Runs",
            "integer",
            "Firings since the hub started.",
            &["status", "runs"],
        ),
        column(
            "Suppressed",
            "integer",
            "Suppressed firings since the hub started.",
            &["status", "suppressed"],
        ),
    ],
};
