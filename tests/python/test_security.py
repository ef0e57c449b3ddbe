"""TLS, bearer tokens, the authorization policy, kubectl auth can-i, safe defaults, per-client
limits, the audit log, and hostile clients that must not hurt the hub."""

import json
import os
import socket
import subprocess
import threading
import time

import resource

import pytest

from conftest import BIN, Hub, core_event

CORE = "/api/v1/namespaces/default/events"
POLICY = """rules:
- groups: [ops]
  verbs: ["*"]
- users: [reader]
  verbs: [get, list, watch]
  namespaces: [default]
"""


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


@pytest.fixture
def secure_hub(tmp_path, make_hub):
    certs = tmp_path / "certs"
    subprocess.run([BIN, "certs", "generate", "--dir", str(certs)], check=True, capture_output=True)
    tokens = tmp_path / "tokens.csv"
    tokens.write_text('admin-token,admin,u1,"ops"\nreader-token,reader,u2\n')
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    audit = tmp_path / "audit" / "audit.log"
    hub = make_hub(["--tls-cert-file", str(certs / "server.crt"), "--tls-private-key-file", str(certs / "server.key"),
                    "--token-auth-file", str(tokens), "--authorization-policy-file", str(policy),
                    "--audit-log-path", str(audit)])
    hub.url = hub.url.replace("http://", "https://")
    # Readiness over TLS: /readyz needs no token.
    hub.proc = None
    original_start = Hub.start

    def start_tls(timeout=20):
        log = open(hub.log_path, "ab")
        hub.proc = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{hub.port}", "--data-dir", hub.data_dir]
                                    + hub.extra_args, stdout=log, stderr=log)
        deadline = time.time() + timeout
        while time.time() < deadline:
            result = subprocess.run(["curl", "-sf", "--cacert", str(certs / "ca.crt"), f"{hub.url}/readyz"],
                                    capture_output=True)
            if result.returncode == 0:
                return hub
            time.sleep(0.1)
        raise RuntimeError(open(hub.log_path).read())

    hub.start = start_tls
    hub.start()
    hub.ca = str(certs / "ca.crt")
    hub.tokens, hub.audit = tokens, audit
    assert original_start
    return hub


def kubectl(hub, token, *args):
    env = dict(os.environ, KUBECONFIG="/dev/null")
    cmd = ["kubectl", "--server", hub.url, "--certificate-authority", hub.ca, "--cache-dir",
           os.path.join(hub.kube_dir, "cache")]
    if token:
        cmd += ["--token", token]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, env=env, timeout=60, stdin=subprocess.DEVNULL)


def test_kubectl_over_tls_with_tokens_gets_the_apiservers_answers(secure_hub, tmp_path):
    event = tmp_path / "event.json"
    event.write_text(json.dumps(core_event("secured")))
    created = kubectl(secure_hub, "admin-token", "create", "-f", str(event))
    assert created.returncode == 0, created.stderr
    listed = kubectl(secure_hub, "reader-token", "get", "events")
    assert listed.returncode == 0 and "Scheduled" in listed.stdout, listed.stderr
    everywhere = kubectl(secure_hub, "reader-token", "get", "events", "-A")
    assert everywhere.returncode == 1
    assert ('Error from server (Forbidden): events is forbidden: User "reader" cannot list resource "events" '
            'in API group "" at the cluster scope') in everywhere.stderr
    deleted = kubectl(secure_hub, "reader-token", "delete", "event", "secured")
    assert ('events "secured" is forbidden: User "reader" cannot delete resource "events" in API group "" '
            'in the namespace "default"') in deleted.stderr or 'cannot delete resource "events"' in deleted.stderr
    assert kubectl(secure_hub, "reader-token", "auth", "can-i", "list", "events").stdout.strip() == "yes"
    assert kubectl(secure_hub, "reader-token", "auth", "can-i", "delete", "events").stdout.strip() == "no"
    assert kubectl(secure_hub, "reader-token", "auth", "can-i", "list", "events", "-A").stdout.strip() == "no"
    assert kubectl(secure_hub, "admin-token", "auth", "can-i", "delete", "events", "-n", "x").stdout.strip() == "yes"
    anonymous = subprocess.run(["curl", "-s", "--cacert", secure_hub.ca, f"{secure_hub.url}{CORE}"],
                               capture_output=True, text=True)
    status = json.loads(anonymous.stdout)
    assert (status["code"], status["reason"]) == (401, "Unauthorized"), status
    wrong = kubectl(secure_hub, "wrong-token", "get", "events")
    assert wrong.returncode == 1 and "Unauthorized" in wrong.stderr, wrong.stderr
    # The audit log has the write and the denials.
    lines = [json.loads(line) for line in secure_hub.audit.read_text().splitlines()]
    assert any(l["user"] == "admin" and l["verb"] == "create" and l["code"] == 201 for l in lines)
    assert any(l["user"] == "reader" and l["decision"] == "deny" and l["verb"] == "delete" for l in lines)


def test_kevents_io_reads_are_authorized_like_event_reads(secure_hub, tmp_path):
    event = tmp_path / "event.json"
    event.write_text(json.dumps(core_event("counted")))
    created = kubectl(secure_hub, "admin-token", "create", "-f", str(event))
    assert created.returncode == 0, created.stderr
    for path in ["/apis/kevents.io/v1/namespaces/default/eventcounts?by=reason",
                 "/apis/kevents.io/v1/namespaces/default/eventseries"]:
        allowed = kubectl(secure_hub, "reader-token", "get", "--raw", path)
        assert allowed.returncode == 0, (path, allowed.stderr)
    # The reader may list events in default only: counts across namespaces, another namespace,
    # series across namespaces and cluster-scoped patterns are refused.
    for path in ["/apis/kevents.io/v1/eventcounts?by=object",
                 "/apis/kevents.io/v1/namespaces/kube-system/eventcounts",
                 "/clusters/edge/apis/kevents.io/v1/eventcounts",
                 "/apis/kevents.io/v1/eventseries",
                 "/apis/kevents.io/v1/eventpatterns"]:
        denied = kubectl(secure_hub, "reader-token", "get", "--raw", path)
        assert denied.returncode == 1 and "Forbidden" in denied.stderr, (path, denied.stdout, denied.stderr)
        assert kubectl(secure_hub, "admin-token", "get", "--raw", path).returncode == 0, path


def test_removed_token_is_refused_after_reload(secure_hub):
    assert kubectl(secure_hub, "reader-token", "get", "events").returncode == 0
    secure_hub.tokens.write_text('admin-token,admin,u1,"ops"\n')
    future = time.time() + 5
    os.utime(secure_hub.tokens, (future, future))
    deadline = time.time() + 10
    while time.time() < deadline:
        result = kubectl(secure_hub, "reader-token", "get", "events")
        if result.returncode != 0:
            break
        time.sleep(0.5)
    assert "Unauthorized" in result.stderr or "must be logged in" in result.stderr, result.stderr
    assert kubectl(secure_hub, "admin-token", "get", "events").returncode == 0


def test_non_loopback_listen_needs_authentication_or_an_explicit_opt_out(tmp_path):
    refused = subprocess.run([BIN, "serve", "--listen", "0.0.0.0:0", "--data-dir", str(tmp_path / "d1")],
                             capture_output=True, text=True, timeout=30)
    assert refused.returncode != 0
    assert "refusing to serve 0.0.0.0:0 without authentication" in refused.stderr


def test_client_rate_limit_answers_429_with_retry_after(make_hub):
    hub = make_hub(["--client-rate-limit", "5"]).start()
    statuses = [hub.request("GET", CORE)[0] for _ in range(30)]
    assert 429 in statuses and statuses[0] == 200
    status, body, headers = hub.request("GET", CORE)
    if status == 429:
        assert body["reason"] == "TooManyRequests" and int(headers["Retry-After"]) >= 1
    time.sleep(1.2)
    assert hub.request("GET", CORE)[0] == 200, "the bucket refills"


def open_watch(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(f"GET {CORE}?watch=true&resourceVersion=1 HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    return sock


WATCHES = 10_000


def test_hostile_clients_do_not_hurt_the_hub(make_hub):
    # Room for 10,000 sockets here and in the hub, which inherits the limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max(soft, WATCHES + 2000)
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.skip(f"the file descriptor limit ({hard}) is below {wanted}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    hub = make_hub(["--max-watches-per-client", "200"]).start()
    for i in range(3):
        assert hub.request("POST", CORE, core_event(f"keep-{i}"))[0] == 201
    before = hub.request("GET", CORE)[1]["items"]
    rss_start = rss_kib(hub.proc.pid)

    # 10,000 headers: refused, connection closed, server up.
    with socket.create_connection(("127.0.0.1", hub.port), timeout=10) as sock:
        headers = "".join(f"X-H{i}: v\r\n" for i in range(10_000))
        try:
            sock.sendall(f"GET {CORE} HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode())
            reply = sock.recv(1024)
        except OSError:
            reply = b""
        assert not reply.startswith(b"HTTP/1.1 200")

    # Slowloris: a connection that never finishes its headers does not block others.
    slow = socket.create_connection(("127.0.0.1", hub.port), timeout=10)
    slow.sendall(b"GET /api/v1/events HTTP/1.1\r\nHost: x\r\n")
    assert hub.request("GET", CORE)[0] == 200

    # Invalid UTF-8, deeply nested JSON, a huge field selector.
    status, body, _ = hub.request("POST", CORE, raw=b'{"metadata":{"name":"\xff\xfe"}}')
    assert status == 400 and body["kind"] == "Status"
    nested = b'{"metadata":{"name":"deep"},"involvedObject":' + b'{"a":' * 5000 + b'1' + b'}' * 5001
    status, body, _ = hub.request("POST", CORE, raw=nested)
    assert status == 400 and body["kind"] == "Status"
    huge = "type%3D" + "W" * 200_000
    try:
        status, body, _ = hub.request("GET", f"{CORE}?fieldSelector={huge}")
        # Either a selector that matches nothing, or hyper's 414 for an oversize request line.
        assert (status == 200 and body["items"] == []) or status == 414, (status, body)
    except OSError:
        pass  # or the server refuses the oversize request line and closes the connection
    assert hub.request("GET", "/readyz")[0] == 200

    # 10,000 concurrent watches from one client: the first 200 are served, the rest refused.
    socks, refused = [], 0
    for _ in range(WATCHES):
        socks.append(open_watch(hub.port))
    time.sleep(1)
    for sock in socks:
        sock.settimeout(2)
        try:
            head = sock.recv(64)
        except OSError:
            head = b""
        if head.startswith(b"HTTP/1.1 429"):
            refused += 1
    assert refused == WATCHES - 200, refused
    threads_ok = []
    thread = threading.Thread(target=lambda: threads_ok.append(hub.request("GET", CORE)[0] == 200))
    thread.start()
    thread.join(10)
    assert threads_ok == [True], "other requests are still served"
    for sock in socks:
        sock.close()
    slow.close()
    rss_end = rss_kib(hub.proc.pid)
    print(f"hub RSS {rss_start} KiB -> {rss_end} KiB with {WATCHES} watch attempts")
    assert rss_end - rss_start < 65_536, f"memory grew from {rss_start} KiB to {rss_end} KiB"
    assert hub.request("GET", CORE)[1]["items"] == before, "no stored data changed"


def test_client_certificate_names_the_user_and_groups(tmp_path, make_hub):
    certs = tmp_path / "certs"
    subprocess.run([BIN, "certs", "generate", "--dir", str(certs), "--client", "carol", "--client-group", "ops"],
                   check=True, capture_output=True)
    policy = tmp_path / "policy.yaml"
    policy.write_text("rules:\n- groups: [ops]\n  verbs: [list]\n  namespaces: [default]\n")
    hub = make_hub(["--tls-cert-file", str(certs / "server.crt"), "--tls-private-key-file", str(certs / "server.key"),
                    "--client-ca-file", str(certs / "ca.crt"), "--authorization-policy-file", str(policy)])
    log = open(hub.log_path, "ab")
    hub.proc = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{hub.port}", "--data-dir", hub.data_dir]
                                + hub.extra_args, stdout=log, stderr=log)
    base = ["curl", "-s", "--cacert", str(certs / "ca.crt")]
    url = f"https://127.0.0.1:{hub.port}"
    deadline = time.time() + 20
    while subprocess.run(base + ["-f", f"{url}/readyz"], capture_output=True).returncode != 0:
        assert time.time() < deadline, open(hub.log_path).read()
        time.sleep(0.1)
    with_cert = base + ["--cert", str(certs / "client.crt"), "--key", str(certs / "client.key")]
    listed = json.loads(subprocess.run(with_cert + [f"{url}{CORE}"], capture_output=True, text=True).stdout)
    assert listed["kind"] == "EventList", listed
    denied = json.loads(subprocess.run(with_cert + ["-X", "DELETE", f"{url}{CORE}/x"], capture_output=True, text=True).stdout)
    assert denied["code"] == 403 and 'User "carol"' in denied["message"], denied
    anonymous = json.loads(subprocess.run(base + [f"{url}{CORE}"], capture_output=True, text=True).stdout)
    assert anonymous["code"] == 401
