"""A real Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager
and kube-scheduler, built from the upstream Go modules by scripts/build-k8s (pinned in
tests/k8s/go.mod) and started under a temporary directory with generated certificates,
a service-account key pair and a static admin token. No kubelet: nodes are registered by hand.

Run one alone (prints a kubeconfig path and waits for Ctrl-C):
    .venv/bin/python tests/python/controlplane.py [--event-ttl 1h]
"""

import base64
import functools
import json
import os
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import free_port, stop_process  # noqa: E402


class BuildUnavailable(Exception):
    """The control plane cannot be built on this machine (no Go, or a module is not served)."""


@functools.lru_cache(maxsize=None)
def binaries():
    """The directory holding kube-apiserver, kube-controller-manager, kube-scheduler, etcd and
    recorder, built (or found in the cache) by scripts/build-k8s."""
    if os.environ.get("KEVENTS_K8S_BIN"):
        return Path(os.environ["KEVENTS_K8S_BIN"])
    if shutil.which("go") is None:
        raise BuildUnavailable("go is not installed")
    proc = subprocess.run([str(ROOT / "scripts" / "build-k8s")], capture_output=True, text=True, timeout=3000)
    if proc.returncode != 0:
        raise BuildUnavailable(f"scripts/build-k8s failed:\n{proc.stderr[-4000:]}")
    return Path(proc.stdout.strip().splitlines()[-1])


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(directory):
    """A CA (ca.crt, ca.key) under `directory`."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
            "-subj", "/CN=kevents-test-ca", "-days", "2", cwd=directory)


def issue_cert(directory, name, subject, sans=("IP:127.0.0.1", "DNS:localhost"), client=False):
    """A certificate `name`.crt/.key signed by the CA in `directory`."""
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
            "-subj", subject, cwd=directory)
    usage = "clientAuth" if client else "serverAuth"
    ext = Path(directory, f"{name}.ext")
    ext.write_text(f"extendedKeyUsage={usage}\n" + (f"subjectAltName={','.join(sans)}\n" if not client else ""))
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{name}.crt", "-days", "2", "-extfile", ext.name, cwd=directory)
    return Path(directory, f"{name}.crt"), Path(directory, f"{name}.key")


class Process:
    """One component: its command line, log file and process."""

    def __init__(self, name, args, log_dir):
        self.name, self.args = name, args
        self.log_path = Path(log_dir, f"{name}.log")
        self.proc = None

    def start(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.running():
            stop_process(self.proc, sig, timeout)

    def log_tail(self, lines=40):
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


class ControlPlane:
    """etcd + kube-apiserver (+ controller-manager and scheduler unless `controllers=False`)."""

    def __init__(self, workdir, event_ttl="1h", controllers=True, apiserver_args=(), etcd_servers_overrides=None):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.bin = binaries()
        self.event_ttl = event_ttl
        self.controllers = controllers
        self.apiserver_args = list(apiserver_args)
        self.etcd_servers_overrides = etcd_servers_overrides
        self.token = secrets.token_hex(16)
        self.etcd_port, self.etcd_peer_port, self.port = free_port(), free_port(), free_port()
        self.server = f"https://127.0.0.1:{self.port}"
        self.etcd_url = f"http://127.0.0.1:{self.etcd_port}"
        self.pki = self.dir / "pki"
        self.kubeconfig = self.dir / "admin.kubeconfig"
        self.components = {}
        self._ssl = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout=120):
        self._write_pki()
        self._start_etcd()
        self._start_apiserver(timeout)
        if self.controllers:
            self._start_controllers()
        return self

    def stop(self):
        for name in ("kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"):
            if name in self.components:
                self.components[name].stop()

    def restart_apiserver(self, timeout=120):
        self.components["kube-apiserver"].stop()
        self._start_apiserver(timeout)

    def _write_pki(self):
        self.pki.mkdir(exist_ok=True)
        make_ca(self.pki)
        sans = ("IP:127.0.0.1", "DNS:localhost", "IP:10.0.0.1", "DNS:kubernetes", "DNS:kubernetes.default",
                "DNS:kubernetes.default.svc", "DNS:kubernetes.default.svc.cluster.local")
        issue_cert(self.pki, "apiserver", "/CN=kube-apiserver", sans)
        openssl("genrsa", "-out", "sa.key", "2048", cwd=self.pki)
        openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=self.pki)
        (self.pki / "tokens.csv").write_text(f'{self.token},admin,uid-admin,"system:masters"\n')
        self.ca_file = self.pki / "ca.crt"
        self.kubeconfig.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "admin",
            "clusters": [{"name": "test", "cluster": {"server": self.server, "certificate-authority": str(self.ca_file)}}],
            "users": [{"name": "admin", "user": {"token": self.token}}],
            "contexts": [{"name": "admin", "context": {"cluster": "test", "user": "admin"}}],
        }, indent=1))

    def _start_etcd(self):
        data = self.dir / "etcd"
        etcd = Process("etcd", [
            str(self.bin / "etcd"), "--name", "default", "--data-dir", str(data),
            "--listen-client-urls", self.etcd_url, "--advertise-client-urls", self.etcd_url,
            "--listen-peer-urls", f"http://127.0.0.1:{self.etcd_peer_port}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{self.etcd_peer_port}",
            "--initial-cluster", f"default=http://127.0.0.1:{self.etcd_peer_port}",
            "--unsafe-no-fsync", "--log-level", "warn",
        ], self.dir).start()
        self.components["etcd"] = etcd
        self._wait(lambda: self._http_ok(self.etcd_url + "/health"), etcd, 60, "etcd /health")

    def _start_apiserver(self, timeout):
        args = [
            str(self.bin / "kube-apiserver"),
            "--etcd-servers", self.etcd_url,
            "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", str(self.port),
            "--cert-dir", str(self.dir / "apiserver-certs"),
            "--tls-cert-file", str(self.pki / "apiserver.crt"), "--tls-private-key-file", str(self.pki / "apiserver.key"),
            "--client-ca-file", str(self.ca_file),
            "--token-auth-file", str(self.pki / "tokens.csv"),
            "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
            "--service-account-key-file", str(self.pki / "sa.pub"),
            "--service-account-signing-key-file", str(self.pki / "sa.key"),
            "--service-cluster-ip-range", "10.0.0.0/24",
            "--authorization-mode", "RBAC",
            "--endpoint-reconciler-type", "none",
            "--disable-admission-plugins", "TaintNodesByCondition",
            "--event-ttl", self.event_ttl,
            "--profiling=false",
        ] + self.apiserver_args
        if self.etcd_servers_overrides:
            args += ["--etcd-servers-overrides", self.etcd_servers_overrides]
        apiserver = Process("kube-apiserver", args, self.dir).start()
        self.components["kube-apiserver"] = apiserver
        self._wait(lambda: self._readyz(), apiserver, timeout, "kube-apiserver /readyz")

    def _start_controllers(self):
        kcm = Process("kube-controller-manager", [
            str(self.bin / "kube-controller-manager"), "--kubeconfig", str(self.kubeconfig),
            "--leader-elect=false", "--bind-address", "127.0.0.1", "--secure-port", str(free_port()),
            "--service-account-private-key-file", str(self.pki / "sa.key"),
            "--root-ca-file", str(self.ca_file),
            "--controllers", "*,-node-lifecycle-controller",
            "--cluster-signing-cert-file", str(self.pki / "ca.crt"),
            "--cluster-signing-key-file", str(self.pki / "ca.key"),
        ], self.dir).start()
        scheduler = Process("kube-scheduler", [
            str(self.bin / "kube-scheduler"), "--kubeconfig", str(self.kubeconfig),
            "--leader-elect=false", "--bind-address", "127.0.0.1", "--secure-port", str(free_port()),
        ], self.dir).start()
        self.components["kube-controller-manager"] = kcm
        self.components["kube-scheduler"] = scheduler
        # The service-account controller creates `default` in each namespace; pods need it.
        self._wait(lambda: self.get("/api/v1/namespaces/default/serviceaccounts/default")[0] == 200,
                   kcm, 60, "the default ServiceAccount")

    def _wait(self, ready, process, timeout, what):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not process.running():
                raise RuntimeError(f"{process.name} exited while waiting for {what}:\n{process.log_tail()}")
            if ready():
                return
            time.sleep(0.25)
        raise RuntimeError(f"timed out waiting for {what}:\n{process.log_tail()}")

    # --- talking to it -----------------------------------------------------------------------

    def ssl_context(self):
        if self._ssl is None:
            self._ssl = ssl.create_default_context(cafile=str(self.ca_file))
        return self._ssl

    def _http_ok(self, url):
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def _readyz(self):
        try:
            return self.get("/readyz")[0] == 200
        except OSError:
            return False

    def request(self, method, path, body=None, content_type="application/json", token=None):
        """(status, parsed JSON or text) of one request as the admin (or `token`)."""
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(self.server + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {token or self.token}")
        if data is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, timeout=30, context=self.ssl_context()) as r:
                raw = r.read()
                status = r.status
        except urllib.error.HTTPError as e:
            raw, status = e.read(), e.code
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode(errors="replace")

    def get(self, path):
        return self.request("GET", path)

    def kubectl(self, *args, check=True, timeout=90, input=None, kubeconfig=None):
        env = dict(os.environ, KUBECONFIG=str(kubeconfig or self.kubeconfig), NO_COLOR="1")
        cmd = ["kubectl", "--cache-dir", str(self.dir / "kubectl-cache")] + list(args)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, input=input)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    def apply(self, manifest):
        """`kubectl apply` of a dict or a YAML/JSON text."""
        text = manifest if isinstance(manifest, str) else json.dumps(manifest)
        return self.kubectl("apply", "-f", "-", input=text)

    def register_node(self, name, cpu="4", memory="8Gi", pods="110"):
        """A Node the scheduler can place pods on (no kubelet: nothing runs them)."""
        status, body = self.request("POST", "/api/v1/nodes", {
            "apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        })
        assert status in (201, 409), body
        capacity = {"cpu": cpu, "memory": memory, "pods": pods}
        status, body = self.request("PATCH", f"/api/v1/nodes/{name}/status", {
            "status": {"capacity": capacity, "allocatable": capacity,
                       "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                       "message": "registered by the test", "lastHeartbeatTime": now_rfc3339(),
                                       "lastTransitionTime": now_rfc3339()}]},
        }, content_type="application/merge-patch+json")
        assert status == 200, body

    def events(self, namespace=None):
        """Every core/v1 Event the apiserver holds (in `namespace`, or all)."""
        path = f"/api/v1/namespaces/{namespace}/events" if namespace else "/api/v1/events"
        status, body = self.get(path)
        assert status == 200, body
        return body["items"]

    # --- etcd --------------------------------------------------------------------------------

    def etcd(self, method, body):
        """A call to etcd's JSON gateway (e.g. "kv/range", "kv/compaction")."""
        req = urllib.request.Request(f"{self.etcd_url}/v3/{method}", data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def etcd_revision(self):
        key = base64.b64encode(b"/registry/").decode()
        return int(self.etcd("kv/range", {"key": key, "limit": 1, "count_only": True})["header"]["revision"])

    def compact_etcd(self):
        """Compacts etcd's history up to its current revision (what the apiserver does every 5 min)."""
        revision = self.etcd_revision()
        self.etcd("kv/compaction", {"revision": str(revision), "physical": True})
        return revision


def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def main():
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--event-ttl", default="1h")
    parser.add_argument("--dir", help="working directory (default: a new temporary directory)")
    args = parser.parse_args()
    workdir = args.dir or tempfile.mkdtemp(prefix="kevents-k8s-")
    plane = ControlPlane(workdir, event_ttl=args.event_ttl)
    try:
        plane.start()
        plane.register_node("node-1")
        print(f"control plane ready: {plane.server}\nexport KUBECONFIG={plane.kubeconfig}", flush=True)
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        plane.stop()


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    main()
