"""Fixtures that run the real `kevents` binary on a free loopback port."""

import json
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("KEVENTS_BIN", str(ROOT / "target" / "debug" / "kevents"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hub:
    """A running `kevents serve` process and helpers to talk to it."""

    def __init__(self, data_dir, extra_args=(), port=None):
        self.data_dir = str(data_dir)
        self.extra_args = list(extra_args)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Set for a hub serving TLS: the CA its certificate chains to (readiness is checked over https).
        self.ca_file = None
        self.proc = None
        self.log_path = Path(self.data_dir).parent / f"kevents-{self.port}.log"
        # Beside the log, inside the test's own temporary directory, so nothing outlives the run.
        self.kube_dir = Path(self.data_dir).parent / f"kubectl-{self.port}"
        self.kube_dir.mkdir(parents=True, exist_ok=True)
        Path(self.kube_dir, "config").write_text("")

    def start(self, timeout=20):
        if self.proc and self.proc.poll() is None:
            raise RuntimeError(f"the hub on port {self.port} is already running")
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [BIN, "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir", self.data_dir]
            + self.extra_args,
            stdout=log,
            stderr=log,
        )
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"kevents exited early:\n{self.log_path.read_text()}")
            try:
                context = ssl.create_default_context(cafile=str(self.ca_file)) if self.ca_file else None
                with urllib.request.urlopen(self.url + "/readyz", timeout=1, context=context) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.05)
        # Not left running: the test fails, and nothing outlives it.
        self.kill9()
        raise RuntimeError("kevents did not become ready")

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc and self.proc.poll() is None:
            stop_process(self.proc, sig, timeout)
        return self.proc.returncode if self.proc else None

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def request(self, method, path, body=None, headers=None, raw=None):
        """Sends a request; returns (status, parsed JSON or text, headers)."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None and not (headers and "Content-Type" in headers):
            req.add_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, _parse(r.read()), r.headers
        except urllib.error.HTTPError as e:
            return e.code, _parse(e.read()), e.headers

    def kubectl(self, *args, check=True, timeout=60, input=None):
        env = dict(os.environ, KUBECONFIG=str(Path(self.kube_dir, "config")), NO_COLOR="1")
        cmd = ["kubectl", "--server", self.url, "--cache-dir", str(Path(self.kube_dir, "cache"))]
        proc = subprocess.run(
            cmd + list(args), capture_output=True, text=True, timeout=timeout, env=env, input=input
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
            )
        return proc


def _parse(raw):
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return raw.decode(errors="replace")


@pytest.fixture
def hub(tmp_path):
    h = Hub(tmp_path / "data").start()
    yield h
    h.stop()


@pytest.fixture
def make_hub(tmp_path):
    """Factory for hubs with extra flags or a shared data dir; all are stopped at the end."""
    hubs = []

    def make(extra_args=(), data_dir=None, port=None):
        h = Hub(data_dir or (tmp_path / f"data-{len(hubs)}"), extra_args, port)
        hubs.append(h)
        return h

    yield make
    for h in hubs:
        h.stop()


def core_event(name, namespace="default", **overrides):
    """A legacy core/v1 event body like client-go's recorder sends."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    body = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": namespace},
        "involvedObject": {"kind": "Pod", "namespace": namespace, "name": "web-0", "uid": "uid-web-0", "apiVersion": "v1"},
        "reason": "Scheduled",
        "message": f"Successfully assigned {namespace}/web-0 to node-1",
        "type": "Normal",
        "source": {"component": "default-scheduler"},
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }
    for key, value in overrides.items():
        body[key] = value
    return body


def wait_http_ready(url, process, timeout=30):
    """Polls `url` until it answers, failing early if `process` exits."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not become ready")


def stop_process(process, sig=signal.SIGTERM, timeout=10):
    """Sends `sig` and waits for the process; kills it after `timeout` seconds."""
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def alertmanager(tmp_path):
    """A real Alertmanager (Debian `prometheus-alertmanager`) on loopback; yields its base URL."""
    import shutil

    if shutil.which("prometheus-alertmanager") is None:
        pytest.skip("prometheus-alertmanager (Debian package) is not installed")
    port = free_port()
    (tmp_path / "am.yml").write_text("route: {receiver: 'null', group_wait: 1s}\nreceivers: [{name: 'null'}]\n")
    log = open(tmp_path / "alertmanager.log", "wb")
    process = subprocess.Popen(
        ["prometheus-alertmanager", f"--config.file={tmp_path / 'am.yml'}", f"--storage.path={tmp_path / 'am-data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="], stdout=log, stderr=log)
    try:
        wait_http_ready(f"http://127.0.0.1:{port}/-/ready", process)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process)


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory):
    """A real etcd, kube-apiserver, kube-controller-manager and kube-scheduler for the whole
    session (see controlplane.py), with one registered node `node-1`."""
    from controlplane import BuildUnavailable, ControlPlane

    try:
        plane = ControlPlane(tmp_path_factory.mktemp("k8s"))
    except BuildUnavailable as e:
        pytest.skip(f"no real control plane: {e}")
    try:
        plane.start()
        plane.register_node("node-1")
        yield plane
    finally:
        plane.stop()
