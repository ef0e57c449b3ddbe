//! Deterministic realistic events: rollouts, crash loops, scheduling failures and node trouble
//! across namespaces, pods and nodes, with a heavy tail of rare reasons.

use kevents_model::{EventRecord, Micros, ObjectRef};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const NAMESPACES: &[&str] = &[
    "default",
    "kube-system",
    "payments",
    "checkout",
    "search",
    "ingest",
    "monitoring",
    "batch",
    "auth",
    "frontend",
    "api",
    "data",
    "ml",
    "cache",
    "queue",
    "web",
    "mail",
    "billing",
    "ops",
    "ci",
];

/// (reason, type, kind, message template, weight)
const SHAPES: &[(&str, &str, &str, &str, u32)] = &[
    ("Scheduled", "Normal", "Pod", "Successfully assigned {ns}/{pod} to {node}", 20),
    ("Pulling", "Normal", "Pod", "Pulling image \"registry.example.com/{app}:v1.{n}\"", 15),
    ("Pulled", "Normal", "Pod", "Successfully pulled image \"registry.example.com/{app}:v1.{n}\" in 1.{n}s", 15),
    ("Created", "Normal", "Pod", "Created container {app}", 15),
    ("Started", "Normal", "Pod", "Started container {app}", 15),
    ("Killing", "Normal", "Pod", "Stopping container {app}", 6),
    ("BackOff", "Warning", "Pod", "Back-off restarting failed container {app} in pod {pod}_{ns}({uid})", 8),
    ("Unhealthy", "Warning", "Pod", "Readiness probe failed: Get \"http://10.{n}.3.7:8080/healthz\": context deadline exceeded", 6),
    ("FailedScheduling", "Warning", "Pod", "0/{n} nodes are available: 3 Insufficient cpu, 2 node(s) had untolerated taint {node.kubernetes.io/not-ready: }.", 4),
    ("ScalingReplicaSet", "Normal", "Deployment", "Scaled up replica set {app}-7d9f8b6c5 to {n}", 3),
    ("SuccessfulCreate", "Normal", "ReplicaSet", "Created pod: {pod}", 3),
    ("NodeNotReady", "Warning", "Node", "Node {node} status is now: NodeNotReady", 1),
    ("OOMKilling", "Warning", "Node", "Memory cgroup out of memory: Killed process {n} ({app})", 1),
    ("Evicted", "Warning", "Pod", "The node was low on resource: memory. Threshold quantity: 100Mi, available: {n}Ki.", 1),
    ("FailedMount", "Warning", "Pod", "MountVolume.SetUp failed for volume \"data-{n}\" : configmap \"{app}-config\" not found", 1),
];

/// Generates events for `index` deterministically from a seed.
pub struct Workload {
    rng: StdRng,
    total_weight: u32,
    start: Micros,
    /// Microseconds between the last-seen times of consecutive events.
    step: i64,
}

impl Workload {
    /// A workload seeded for reproducible runs; `start` makes names unique across runs.
    pub fn new(seed: u64, start: Micros) -> Workload {
        Workload {
            rng: StdRng::seed_from_u64(seed),
            total_weight: SHAPES.iter().map(|s| s.4).sum(),
            start,
            step: 1000,
        }
    }

    /// The same workload with consecutive events `step` microseconds apart (default 1 ms), so
    /// that N events span N × `step` after `start`.
    pub fn spaced(mut self, step: i64) -> Workload {
        self.step = step.max(1);
        self
    }

    /// The `index`-th event (unique name).
    pub fn event(&mut self, index: u64) -> EventRecord {
        let mut pick = self.rng.random_range(0..self.total_weight);
        let shape = SHAPES
            .iter()
            .find(|s| {
                if pick < s.4 {
                    true
                } else {
                    pick -= s.4;
                    false
                }
            })
            .expect("weights cover the range");
        let (reason, event_type, kind, template, _) = *shape;
        let namespace = NAMESPACES[self.rng.random_range(0..NAMESPACES.len())];
        let app = format!("app{}", self.rng.random_range(0..200));
        let pod = format!("{app}-7d9f8b6c5-{:05x}", self.rng.random_range(0..0xfffff));
        let node = format!("node-{}", self.rng.random_range(0..100));
        let uid = format!(
            "{:08x}-0000-4000-8000-{:012x}",
            index,
            self.rng.random::<u32>()
        );
        let n = self.rng.random_range(1..100).to_string();
        let message = template
            .replace("{ns}", namespace)
            .replace("{pod}", &pod)
            .replace("{node}", &node)
            .replace("{app}", &app)
            .replace("{uid}", &uid)
            .replace("{n}", &n);
        let (object_name, object_namespace) = match kind {
            "Node" => (node.clone(), String::new()),
            "Deployment" => (app.clone(), namespace.to_string()),
            "ReplicaSet" => (format!("{app}-7d9f8b6c5"), namespace.to_string()),
            _ => (pod.clone(), namespace.to_string()),
        };
        let event_namespace = if kind == "Node" { "default" } else { namespace };
        let at = Micros(self.start.0 + index as i64 * self.step).truncate_to_seconds();
        let count = if reason == "BackOff" {
            self.rng.random_range(1..50)
        } else {
            1
        };
        EventRecord {
            namespace: event_namespace.to_string(),
            name: format!("{object_name}.{:x}", self.start.0 as u64 * 1000 + index),
            involved_object: ObjectRef {
                kind: kind.to_string(),
                namespace: object_namespace,
                name: object_name,
                uid,
                api_version: if kind == "Pod" || kind == "Node" {
                    "v1"
                } else {
                    "apps/v1"
                }
                .to_string(),
                field_path: if kind == "Pod" {
                    format!("spec.containers{{{app}}}")
                } else {
                    String::new()
                },
                ..Default::default()
            },
            reason: reason.to_string(),
            message,
            event_type: event_type.to_string(),
            source_component: if kind == "Pod" {
                "kubelet"
            } else {
                "default-scheduler"
            }
            .to_string(),
            source_host: if kind == "Pod" { node } else { String::new() },
            reporting_controller: "kubelet".to_string(),
            reporting_instance: String::new(),
            first_timestamp: Some(at),
            last_timestamp: Some(at),
            count,
            ..Default::default()
        }
    }
}
