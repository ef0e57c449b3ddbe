"""deploy/ against a real kube-apiserver (the `control_plane` fixture): every manifest passes a
server-side dry run and applies, and the collector's ServiceAccount, with its token alone,
collects the cluster's events into a hub, while one permission fewer fails with a clear error."""

import json
import time
from pathlib import Path

import pytest
import yaml

pytest.importorskip("controlplane", reason="tests/python/controlplane.py (the real control plane) is not here yet")

from collecting import Collector, wait_for, write_kubeconfig  # noqa: E402
from deploying import KUSTOMIZE, NAMESPACE, helm_binary, helm_template, kustomize  # noqa: E402

CRDS = Path(__file__).with_name("deploy_crds.yaml")
TREES = ["base", "overlays/tls-token", "overlays/prometheus"]
# Chart values the kustomize trees do not cover (those that do render the same objects).
HELM_VALUES = {
    "tls-only": ("tls.enabled=true",),
    "auth-only": ("auth.enabled=true",),
    "everything": ("tls.enabled=true", "auth.enabled=true", "serviceMonitor.enabled=true",
                   "prometheusRule.enabled=true", "auth.extraPolicyRules[0].users[0]=reader",
                   "auth.extraPolicyRules[0].verbs[0]=list", "hub.persistence.storageClassName=fast",
                   "hub.extraArgs[0]=--event-ttl=720h", "collector.clusterName=prod"),
    "no-collector": ("collector.enabled=false", "serviceMonitor.enabled=true"),
}
COLLECTOR = "kevents-collector"


@pytest.fixture(scope="module")
def cluster(control_plane):
    """The control plane with the operator's CRDs and the namespace deploy/ installs into.
    Everything this module creates is deleted afterwards, so that the session's other suites
    see none of its objects or their events."""
    control_plane.kubectl("apply", "-f", str(CRDS))
    control_plane.kubectl("wait", "--for=condition=Established", "--timeout=60s",
                          "crd/servicemonitors.monitoring.coreos.com", "crd/prometheusrules.monitoring.coreos.com")
    if control_plane.kubectl("get", "namespace", NAMESPACE, check=False).returncode != 0:
        control_plane.kubectl("create", "namespace", NAMESPACE)
    yield control_plane
    namespaces = [NAMESPACE] + [f"kevents-helm-{values}" for values in HELM_VALUES]
    # The namespaces stop taking new pods first; no kubelet confirms that their scheduled pods
    # stopped, so those are removed without waiting; then the namespaces (and their events) go.
    control_plane.kubectl("delete", "namespace", "--ignore-not-found", "--wait=false", *namespaces, check=False)
    for namespace in namespaces:
        control_plane.kubectl("delete", "pods", "--all", "--force", "--grace-period=0", "-n", namespace,
                              "--ignore-not-found", check=False)
    control_plane.kubectl("wait", "--for=delete", "--timeout=60s",
                          *[f"namespace/{n}" for n in namespaces], check=False)
    control_plane.kubectl("delete", "clusterrole,clusterrolebinding", "--ignore-not-found",
                          COLLECTOR, f"{COLLECTOR}-no-watch", check=False)
    control_plane.kubectl("delete", "-f", str(CRDS), "--ignore-not-found", check=False)


def manifest_file(cluster, manifests):
    path = Path(cluster.kubeconfig).with_name(f"manifests-{time.monotonic_ns()}.yaml")
    path.write_text(manifests)
    return str(path)


def apply(cluster, manifests, *flags):
    return cluster.kubectl("apply", *flags, "-f", manifest_file(cluster, manifests))


@pytest.mark.parametrize("tree", TREES)
def test_manifests_pass_a_server_dry_run_and_apply(cluster, tree):
    manifests = kustomize(KUSTOMIZE / tree)
    path = manifest_file(cluster, manifests)
    dry = cluster.kubectl("apply", "--dry-run=server", "-f", path)
    expected = sorted((o["kind"], o["metadata"]["name"]) for o in yaml.safe_load_all(manifests))
    assert dry.stdout.count("(server dry run)") == len(expected), dry.stdout
    cluster.kubectl("apply", "-f", path)
    stored = json.loads(cluster.kubectl("get", "-f", path, "-o", "json").stdout)["items"]
    assert sorted((o["kind"], o["metadata"]["name"]) for o in stored) == expected


@pytest.mark.parametrize("values", HELM_VALUES, ids=list(HELM_VALUES))
def test_helm_renders_pass_a_server_dry_run(cluster, values):
    # A namespace of its own: a StatefulSet's volumeClaimTemplates cannot change in place.
    namespace = f"kevents-helm-{values}"
    if cluster.kubectl("get", "namespace", namespace, check=False).returncode != 0:
        cluster.kubectl("create", "namespace", namespace)
    manifests = helm_template(helm_binary(), *HELM_VALUES[values], namespace=namespace)
    expected = len([o for o in yaml.safe_load_all(manifests) if o])
    dry = cluster.kubectl("apply", "--dry-run=server", "-f", manifest_file(cluster, manifests))
    assert dry.stdout.count("(server dry run)") == expected, dry.stdout


def token_kubeconfig(cluster, path, service_account):
    """A kubeconfig holding the apiserver's cluster entry (its CA, or the admin's own TLS
    setting) and only a token of `service_account` in the kevents namespace."""
    token = cluster.kubectl("create", "token", service_account, "-n", NAMESPACE, "--duration=1h").stdout.strip()
    admin = yaml.safe_load(Path(cluster.kubeconfig).read_text())
    current = next(c for c in admin["contexts"] if c["name"] == admin["current-context"])
    entry = next(c for c in admin["clusters"] if c["name"] == current["context"]["cluster"])["cluster"]
    entry = dict(entry)
    if "certificate-authority" in entry:
        base = Path(cluster.kubeconfig).parent
        entry["certificate-authority"] = str((base / entry["certificate-authority"]).resolve())
    server = entry.pop("server")
    return write_kubeconfig(path, {"real": {"server": server, "cluster": entry, "user": {"token": token}}})


def create_event(cluster, name):
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    event = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": NAMESPACE},
             "involvedObject": {"kind": "Pod", "namespace": NAMESPACE, "name": "web-0", "apiVersion": "v1"},
             "reason": "BackOff", "message": "Back-off restarting failed container", "type": "Warning",
             "source": {"component": "kubelet", "host": "node-1"}, "count": 1,
             "firstTimestamp": now, "lastTimestamp": now}
    path = Path(cluster.kubeconfig).with_name(f"{name}.json")
    path.write_text(json.dumps(event))
    cluster.kubectl("create", "-f", str(path))


def test_collector_service_account_token_alone_collects_into_a_hub(cluster, make_hub, tmp_path):
    apply(cluster, kustomize(KUSTOMIZE / "base"))
    kubeconfig = token_kubeconfig(cluster, tmp_path / "collector.kubeconfig", COLLECTOR)
    can = lambda *what: cluster.kubectl("--kubeconfig", kubeconfig, "auth", "can-i", *what, check=False).stdout.strip()  # noqa: E731
    assert can("watch", "events", "-A") == "yes"
    assert can("list", "events", "-A") == "yes"
    assert can("get", "secrets", "-A") == "no"
    assert can("create", "events", "-n", "default") == "no"
    hub = make_hub().start()
    create_event(cluster, "deploy-before")
    collector = Collector(tmp_path, kubeconfig, hub.url, ["--cluster-name", "real"]).start()
    try:
        create_event(cluster, "deploy-after")
        for name in ("deploy-before", "deploy-after"):
            path = f"/clusters/real/api/v1/namespaces/{NAMESPACE}/events/{name}"
            wait_for(lambda: hub.request("GET", path)[0] == 200, timeout=60, message=f"{name} in the hub")
        assert "forbids" not in collector.log()
    finally:
        collector.stop()


NO_WATCH = """
apiVersion: v1
kind: ServiceAccount
metadata: {name: kevents-collector-no-watch, namespace: kevents}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: kevents-collector-no-watch}
rules:
  - apiGroups: [""]
    resources: [events]
    verbs: [list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: kevents-collector-no-watch}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kevents-collector-no-watch}
subjects:
  - {kind: ServiceAccount, name: kevents-collector-no-watch, namespace: kevents}
"""


def test_collector_without_watch_fails_with_a_clear_error(cluster, make_hub, tmp_path):
    apply(cluster, NO_WATCH)
    kubeconfig = token_kubeconfig(cluster, tmp_path / "no-watch.kubeconfig", "kevents-collector-no-watch")
    hub = make_hub().start()
    collector = Collector(tmp_path, kubeconfig, hub.url, ["--cluster-name", "real-no-watch"]).start()
    try:
        expected = ("the cluster forbids the collector to watch events (403 Forbidden: events is forbidden: "
                    'User "system:serviceaccount:kevents:kevents-collector-no-watch" cannot watch resource "events"')
        wait_for(lambda: expected in collector.log(), timeout=60, message="the collector's refusal message")
        line = next(line for line in collector.log().splitlines() if expected in line)
        assert "ERROR" in line
        assert "needs list and watch on events in all namespaces" in line
    finally:
        collector.stop()
