"""What the collector suites share: source clusters (`kevents serve` speaking the Kubernetes
API), kubeconfigs naming them, `kevents collect` processes, and comparing a hub with sources."""

import json
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from kubernetes import client

from conftest import BIN, free_port


def core_api(url):
    """The PyPI client's CoreV1Api against a plain-HTTP source or hub."""
    return client.CoreV1Api(client.ApiClient(client.Configuration(host=url)))


def event_body(name, message="created", count=1):
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return client.CoreV1Event(
        metadata=client.V1ObjectMeta(name=name, namespace="default"),
        involved_object=client.V1ObjectReference(kind="Pod", name=f"pod-{name}", namespace="default",
                                                 api_version="v1", uid=f"uid-{name}"),
        reason="BackOff", message=message, type="Warning",
        source=client.V1EventSource(component="kubelet", host="node-1"),
        first_timestamp=now, last_timestamp=now, count=count,
    )


def write_source_events(sources, per_cluster):
    """Creates `per_cluster` events `<cluster>-ev-<i>` ("from <cluster>") in each source {name: hub}."""
    for name, source in sources.items():
        api = core_api(source.url)
        for i in range(per_cluster):
            api.create_namespaced_event("default", event_body(f"{name}-ev-{i}", message=f"from {name}"))


def write_kubeconfig(path, sources):
    """A kubeconfig (JSON is YAML) with one context per source: {context: {server, user, cluster}}."""
    config = {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": []}
    for name, spec in sources.items():
        config["clusters"].append({"name": name, "cluster": {"server": spec["server"], **spec.get("cluster", {})}})
        config["users"].append({"name": name, "user": spec.get("user", {})})
        config["contexts"].append({"name": name, "context": {"cluster": name, "user": name}})
    config["current-context"] = next(iter(sources))
    Path(path).write_text(json.dumps(config, indent=1))
    return str(path)


class Collector:
    """A `kevents collect` process with its own /metrics."""

    def __init__(self, tmp_path, kubeconfig, hub_url, args=()):
        self.metrics_port = free_port()
        self.args = [BIN, "collect", "--kubeconfig", str(kubeconfig), "--to", hub_url,
                     "--metrics-addr", f"127.0.0.1:{self.metrics_port}", "--max-retry-delay", "1s",
                     "--heartbeat", "1s"] + list(args)
        self.log_path = Path(tmp_path) / f"collect-{self.metrics_port}.log"
        self.proc = None

    def start(self, timeout=20):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"kevents collect exited:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/healthz", timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"kevents collect did not start:\n{self.log()}")

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def metrics(self):
        """{(name, cluster): value} of the kevents_collector_* series."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as r:
            text = r.read().decode()
        values = {}
        for line in text.splitlines():
            if line.startswith("kevents_collector_") and "{" in line:
                series, value = line.rsplit(" ", 1)
                name, labels = series.split("{", 1)
                cluster = labels.split('cluster="', 1)[1].split('"', 1)[0]
                values[(name, cluster)] = float(value)
        return values

    def metric(self, name, cluster):
        return self.metrics().get((name, cluster), 0.0)


def get_json(url, path):
    try:
        with urllib.request.urlopen(url + path, timeout=10) as r:
            return json.loads(r.read())
    except (urllib.error.URLError, ConnectionError, OSError):
        return None


def snapshot(url, prefix=""):
    """{(namespace, name): (count, message)} of every event at `url` (+ `prefix`, e.g. /clusters/a)."""
    listing = get_json(url, f"{prefix}/api/v1/events")
    if listing is None:
        return None
    return {(e["metadata"]["namespace"], e["metadata"]["name"]): (e.get("count"), e.get("message"))
            for e in listing["items"]}


def wait_converged(hub, sources, timeout=90):
    """Waits until the hub's /clusters/<name> view equals each source; returns the last views."""
    deadline = time.time() + timeout
    while True:
        views = {name: (snapshot(url), snapshot(hub.url, f"/clusters/{name}")) for name, url in sources.items()}
        if all(source is not None and source == mirrored for source, mirrored in views.values()):
            return views
        if time.time() > deadline:
            for name, (source, mirrored) in views.items():
                source, mirrored = source or {}, mirrored or {}
                missing = sorted(set(source) - set(mirrored))[:5]
                extra = sorted(set(mirrored) - set(source))[:5]
                stale = [(k, source[k], mirrored[k]) for k in source if k in mirrored and source[k] != mirrored[k]][:5]
                print(f"{name}: {len(source)} in source, {len(mirrored)} in hub; missing {missing}, "
                      f"extra {extra}, different {stale}")
            raise AssertionError("the hub did not converge to the sources")
        time.sleep(0.3)


def wait_for(predicate, timeout=30, interval=0.2, message="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {message}")
