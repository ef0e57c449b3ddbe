//! A labelled stream for judging anomaly detection: days of a cluster's ordinary life (a daily
//! and weekly traffic rhythm, weekday rollouts with a burst of readiness warnings, CronJobs)
//! with injected incidents of five kinds, each labelled with its start and end.

use kevents_model::{EventRecord, Micros, ObjectRef};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const MINUTE: i64 = 60_000_000;
const DAY_MINUTES: i64 = 24 * 60;
const APPS: [&str; 6] = ["web", "api", "payments", "search", "worker", "checkout"];

/// The kinds of injected incidents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IncidentKind {
    /// Pods of one app restart in a loop: BackOff Warnings.
    CrashLoopStorm,
    /// A node stops: NodeNotReady for its pods, evictions, FailedScheduling.
    NodeFailure,
    /// Image pulls fail for every pod being started.
    RegistryOutage,
    /// A CronJob stops creating Jobs.
    StoppedCronJob,
    /// A Warning message never seen before, a few times.
    NewFailureMessage,
}

const KINDS: [IncidentKind; 5] = [
    IncidentKind::CrashLoopStorm,
    IncidentKind::NodeFailure,
    IncidentKind::RegistryOutage,
    IncidentKind::StoppedCronJob,
    IncidentKind::NewFailureMessage,
];

impl IncidentKind {
    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentKind::CrashLoopStorm => "crash loop storm",
            IncidentKind::NodeFailure => "node failure",
            IncidentKind::RegistryOutage => "registry outage",
            IncidentKind::StoppedCronJob => "stopped CronJob",
            IncidentKind::NewFailureMessage => "new failure message",
        }
    }
}

/// One injected incident.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incident {
    /// What it is.
    pub kind: IncidentKind,
    /// When it starts.
    pub start: Micros,
    /// When it ends.
    pub end: Micros,
}

/// Occurrences of one event at one minute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Emitted {
    /// When.
    pub at: Micros,
    /// Namespace of the event and its object.
    pub namespace: String,
    /// `involvedObject.kind`.
    pub kind: &'static str,
    /// `involvedObject.name`.
    pub object: String,
    /// `reason`.
    pub reason: &'static str,
    /// `type`.
    pub event_type: &'static str,
    /// `message`.
    pub message: String,
    /// `source.component`.
    pub component: &'static str,
    /// Occurrences.
    pub count: u32,
}

impl Emitted {
    /// The event as stored, named `<object>.<index in hex>`.
    pub fn to_record(&self, index: usize) -> EventRecord {
        EventRecord {
            namespace: self.namespace.clone(),
            name: format!("{}.{index:x}", self.object),
            involved_object: ObjectRef {
                kind: self.kind.into(),
                namespace: self.namespace.clone(),
                name: self.object.clone(),
                uid: format!("uid-{}", self.object),
                ..Default::default()
            },
            reason: self.reason.into(),
            message: self.message.clone(),
            event_type: self.event_type.into(),
            source_component: self.component.into(),
            first_timestamp: Some(self.at),
            last_timestamp: Some(self.at),
            count: i32::try_from(self.count).unwrap_or(i32::MAX),
            ..Default::default()
        }
    }
}

/// A labelled stream: events in time order and the incidents injected.
#[derive(Clone, Debug, Default)]
pub struct LabelledStream {
    /// Events, oldest first.
    pub events: Vec<Emitted>,
    /// Incidents, oldest first.
    pub incidents: Vec<Incident>,
}

struct Builder {
    rng: StdRng,
    start: i64,
    events: Vec<Emitted>,
}

impl Builder {
    #[allow(clippy::too_many_arguments)]
    fn emit(
        &mut self,
        minute: i64,
        namespace: &str,
        kind: &'static str,
        object: String,
        reason: &'static str,
        event_type: &'static str,
        component: &'static str,
        message: String,
    ) {
        self.events.push(Emitted {
            at: Micros(self.start + minute * MINUTE + self.rng.random_range(0..MINUTE)),
            namespace: namespace.into(),
            kind,
            object,
            reason,
            event_type,
            message,
            component,
            count: 1,
        });
    }

    fn pod(&mut self, app: &str) -> String {
        const SUFFIX: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        let suffix: String = (0..5)
            .map(|_| char::from(SUFFIX[self.rng.random_range(0..SUFFIX.len())]))
            .collect();
        format!("{app}-7d9f8b6c5d-{suffix}")
    }
}

/// Whether a day since the epoch (a Thursday) is a Saturday or Sunday.
fn is_weekend(day: i64) -> bool {
    (day + 3).rem_euclid(7) >= 5
}

/// `days` days ending at the midnight before `end`, with `incidents` incidents (of the five
/// kinds in turn) at random times after the first three days, at least four hours apart.
pub fn labelled_stream(days: i64, incidents: usize, seed: u64, end: Micros) -> LabelledStream {
    let last_midnight = end.0.div_euclid(DAY_MINUTES * MINUTE) * DAY_MINUTES * MINUTE;
    let mut builder = Builder {
        rng: StdRng::seed_from_u64(seed ^ 0x1abe11ed),
        start: last_midnight - days * DAY_MINUTES * MINUTE,
        events: Vec::new(),
    };
    let total = days * DAY_MINUTES;
    let mut starts: Vec<i64> = Vec::new();
    while starts.len() < incidents && total > 4 * DAY_MINUTES {
        let at = builder.rng.random_range(3 * DAY_MINUTES..total - 4 * 60);
        if starts.iter().all(|s| (s - at).abs() >= 4 * 60) {
            starts.push(at);
        }
    }
    starts.sort_unstable();
    let mut injected = Vec::new();
    for (index, &at) in starts.iter().enumerate() {
        let kind = KINDS[index % KINDS.len()];
        let length = match kind {
            IncidentKind::StoppedCronJob => builder.rng.random_range(60..180),
            _ => builder.rng.random_range(20..45),
        };
        injected.push((kind, at, at + length, index));
    }
    let pods: Vec<Vec<String>> = APPS
        .iter()
        .map(|app| (0..40).map(|_| builder.pod(app)).collect())
        .collect();
    for day in 0..days {
        let epoch_day = builder.start.div_euclid(DAY_MINUTES * MINUTE) + day;
        if is_weekend(epoch_day) {
            continue;
        }
        for (app, app_pods) in APPS.iter().zip(&pods) {
            if builder.rng.random_bool(0.6) {
                let at = day * DAY_MINUTES + builder.rng.random_range(9 * 60..17 * 60);
                rollout(&mut builder, app, app_pods, at);
            }
        }
    }
    for minute in 0..total {
        ordinary_minute(&mut builder, minute, &pods, &injected);
    }
    for &(kind, start, end, index) in &injected {
        inject(&mut builder, kind, start, end, index, &pods);
    }
    let start = builder.start;
    let mut events = builder.events;
    events.sort_by_key(|e| e.at);
    LabelledStream {
        events,
        incidents: injected
            .iter()
            .map(|&(kind, s, e, _)| Incident {
                kind,
                start: Micros(start + s * MINUTE),
                end: Micros(start + e * MINUTE),
            })
            .collect(),
    }
}

fn rollout(builder: &mut Builder, app: &str, pods: &[String], at: i64) {
    let replicas = builder.rng.random_range(25..40);
    builder.emit(
        at,
        app,
        "Deployment",
        app.into(),
        "ScalingReplicaSet",
        "Normal",
        "deployment-controller",
        format!("Scaled up replica set {app}-6c4f8d9b7d to {replicas}"),
    );
    for pod in pods.iter().take(replicas) {
        let started = at + builder.rng.random_range(0..2);
        for (reason, message) in [
            (
                "Scheduled",
                format!(
                    "Successfully assigned {app}/{pod} to node-{}",
                    builder.rng.random_range(1..9)
                ),
            ),
            (
                "Pulling",
                format!("Pulling image \"registry.example.com/{app}:v2\""),
            ),
            ("Started", format!("Started container {app}")),
        ] {
            builder.emit(
                started,
                app,
                "Pod",
                pod.clone(),
                reason,
                "Normal",
                "kubelet",
                message,
            );
        }
        for _ in 0..builder.rng.random_range(2..7) {
            let when = started + builder.rng.random_range(0..3);
            builder.emit(
                when,
                app,
                "Pod",
                pod.clone(),
                "Unhealthy",
                "Warning",
                "kubelet",
                "Readiness probe failed: HTTP probe failed with statuscode: 503".into(),
            );
        }
    }
}

fn ordinary_minute(
    builder: &mut Builder,
    minute: i64,
    pods: &[Vec<String>],
    injected: &[(IncidentKind, i64, i64, usize)],
) {
    let epoch_day = builder.start.div_euclid(DAY_MINUTES * MINUTE) + minute / DAY_MINUTES;
    let hour = minute % DAY_MINUTES / 60;
    let traffic = match (is_weekend(epoch_day), hour) {
        (false, 8..20) => 1.0,
        (false, _) => 0.25,
        (true, 10..18) => 0.5,
        (true, _) => 0.2,
    };
    for (app, app_pods) in APPS.iter().zip(pods) {
        if builder.rng.random_bool(2.0 / 60.0 * traffic) {
            let pod = app_pods[builder.rng.random_range(0..app_pods.len())].clone();
            builder.emit(
                minute,
                app,
                "Pod",
                pod,
                "Unhealthy",
                "Warning",
                "kubelet",
                "Readiness probe failed: HTTP probe failed with statuscode: 503".into(),
            );
        }
        if builder.rng.random_bool(4.0 / 60.0 * traffic) {
            let size = builder.rng.random_range(3..30);
            builder.emit(minute, app, "HorizontalPodAutoscaler", (*app).into(), "SuccessfulRescale", "Normal", "horizontal-pod-autoscaler", format!("New size: {size}; reason: cpu resource utilization (percentage of request) above target"));
        }
    }
    if builder.rng.random_bool(0.5 / 60.0) {
        let pod = pods[4][0].clone();
        builder.emit(
            minute,
            "worker",
            "Pod",
            pod.clone(),
            "BackOff",
            "Warning",
            "kubelet",
            format!("Back-off restarting failed container worker in pod {pod}_worker(uid-{pod})"),
        );
    }
    let stopped = |job: usize| {
        injected.iter().any(|&(kind, start, end, index)| {
            kind == IncidentKind::StoppedCronJob
                && index / KINDS.len() % 2 == job
                && (start..end).contains(&minute)
        })
    };
    for (job, (name, every)) in [("cleanup", 1), ("backup", 5)].into_iter().enumerate() {
        if minute % every == 0 && !stopped(job) {
            let run = builder.start / MINUTE + minute;
            builder.emit(
                minute,
                "jobs",
                "CronJob",
                name.into(),
                "SuccessfulCreate",
                "Normal",
                "cronjob-controller",
                format!("Created job {name}-{run}"),
            );
            builder.emit(
                minute + 1,
                "jobs",
                "CronJob",
                name.into(),
                "SawCompletedJob",
                "Normal",
                "cronjob-controller",
                format!("Saw completed job: {name}-{run}, status: Complete"),
            );
        }
    }
}

const NEW_FAILURES: [(&str, &str); 5] = [
    ("FailedMount", "MountVolume.SetUp failed for volume \"config\" : configmap \"app-config\" not found"),
    ("FailedCreatePodSandBox", "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox: plugin type=\"calico\" failed (add): connection is unauthorized"),
    ("Unhealthy", "Liveness probe failed: Get \"http://10.244.1.7:8080/healthz\": context deadline exceeded"),
    ("Failed", "Error: container has runAsNonRoot and image will run as root"),
    ("FailedAttachVolume", "AttachVolume.Attach failed for volume \"data\" : rpc error: code = Internal desc = Could not attach volume"),
];

fn inject(
    builder: &mut Builder,
    kind: IncidentKind,
    start: i64,
    end: i64,
    index: usize,
    pods: &[Vec<String>],
) {
    let app_index = index % APPS.len();
    let app = APPS[app_index];
    match kind {
        IncidentKind::CrashLoopStorm => {
            let crashing = builder.rng.random_range(8..16);
            for minute in start..end {
                for pod in pods[app_index]
                    .iter()
                    .take(crashing)
                    .cloned()
                    .collect::<Vec<_>>()
                {
                    if builder.rng.random_bool(0.8) {
                        builder.emit(minute, app, "Pod", pod.clone(), "BackOff", "Warning", "kubelet", format!("Back-off restarting failed container {app} in pod {pod}_{app}(uid-{pod})"));
                    }
                }
            }
        }
        IncidentKind::NodeFailure => {
            let node = format!("node-{}", builder.rng.random_range(1..9));
            builder.emit(
                start,
                "default",
                "Node",
                node.clone(),
                "NodeNotReady",
                "Normal",
                "node-controller",
                format!("Node {node} status is now: NodeNotReady"),
            );
            for (app, app_pods) in APPS.iter().zip(pods) {
                for pod in app_pods.iter().take(2).cloned().collect::<Vec<_>>() {
                    builder.emit(
                        start + 1,
                        app,
                        "Pod",
                        pod.clone(),
                        "NodeNotReady",
                        "Warning",
                        "node-controller",
                        "Node is not ready".into(),
                    );
                    builder.emit(
                        start + 6,
                        app,
                        "Pod",
                        pod.clone(),
                        "TaintManagerEviction",
                        "Normal",
                        "taint-eviction-controller",
                        format!("Marking for deletion Pod {app}/{pod}"),
                    );
                    for minute in (start + 6..end).step_by(3) {
                        builder.emit(minute, app, "Pod", pod.clone(), "FailedScheduling", "Warning", "default-scheduler", "0/8 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 7 Insufficient cpu.".into());
                    }
                }
            }
        }
        IncidentKind::RegistryOutage => {
            for minute in start..end {
                for app in [app, APPS[(app_index + 1) % APPS.len()]] {
                    for pod in 0..10 {
                        if builder.rng.random_bool(0.5) {
                            let pod = format!("{app}-5f6d7c8b9a-p{pod}");
                            let image = format!("registry.example.com/{app}:v3");
                            builder.emit(minute, app, "Pod", pod.clone(), "Failed", "Warning", "kubelet", format!("Failed to pull image \"{image}\": rpc error: code = Unavailable desc = connection refused"));
                            builder.emit(
                                minute,
                                app,
                                "Pod",
                                pod.clone(),
                                "BackOff",
                                "Warning",
                                "kubelet",
                                format!("Back-off pulling image \"{image}\""),
                            );
                        }
                    }
                }
            }
        }
        IncidentKind::StoppedCronJob => {}
        IncidentKind::NewFailureMessage => {
            let (reason, message) = NEW_FAILURES[index / KINDS.len() % NEW_FAILURES.len()];
            let pod = pods[app_index][1].clone();
            for minute in (start..end).step_by(2) {
                builder.emit(
                    minute,
                    app,
                    "Pod",
                    pod.clone(),
                    reason,
                    "Warning",
                    "kubelet",
                    message.into(),
                );
            }
        }
    }
}
