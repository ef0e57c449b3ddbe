"""`kevents collect` against source clusters (second `kevents serve` processes speaking the
Kubernetes API, read with kube-rs exactly as a real apiserver), writing into a hub: the
`/clusters/{name}` API with kubectl, the root view, outages and lag, TLS and token sources,
`kevents clusters` and `kevents kubeconfig`."""

import json
import os
import subprocess
import time

from collecting import (Collector, core_api, event_body, snapshot, wait_converged, wait_for, write_kubeconfig,
                        write_source_events)
from conftest import BIN


def sources_and_hub(make_hub, tmp_path, names=("a", "b")):
    sources = {name: make_hub(["--watch-history", "50"]).start() for name in names}
    hub = make_hub().start()
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", {n: {"server": s.url} for n, s in sources.items()})
    return sources, hub, kubeconfig


def test_clusters_api_with_kubectl_root_view_and_kubeconfig(make_hub, tmp_path):
    sources, hub, kubeconfig = sources_and_hub(make_hub, tmp_path)
    write_source_events(sources, 3)
    collector = Collector(tmp_path, kubeconfig, hub.url, ["--context", "a", "--context", "b"]).start()
    try:
        wait_converged(hub, {n: s.url for n, s in sources.items()})

        # kubectl against one cluster's API on the hub.
        out = hub.kubectl("--server", f"{hub.url}/clusters/a", "get", "events", "-A", "-o", "json").stdout
        assert sorted(e["metadata"]["name"] for e in json.loads(out)["items"]) == ["a-ev-0", "a-ev-1", "a-ev-2"]
        table = hub.kubectl("--server", f"{hub.url}/clusters/b", "get", "events", "-A").stdout
        assert table.count("from b") == 3 and "from a" not in table

        # The root view: every cluster together, each event labelled with its cluster.
        status, listing, _ = hub.request("GET", "/api/v1/events")
        assert status == 200
        by_cluster = {}
        for event in listing["items"]:
            cluster = event["metadata"]["labels"]["kevents.io/cluster"]
            by_cluster.setdefault(cluster, set()).add(event["metadata"]["name"])
        assert by_cluster == {"a": {"a-ev-0", "a-ev-1", "a-ev-2"}, "b": {"b-ev-0", "b-ev-1", "b-ev-2"}}

        # kevents clusters, as JSON and as a table.
        env = dict(os.environ, KEVENTS_SERVER=hub.url)
        listed = json.loads(subprocess.run([BIN, "clusters", "-o", "json"], env=env, check=True,
                                           capture_output=True, text=True).stdout)
        counts = {c["name"]: c["events"] for c in listed["items"]}
        assert counts["a"] == 3 and counts["b"] == 3
        version = subprocess.run([BIN, "version", "--client"], check=True, capture_output=True,
                                 text=True).stdout.split()[1]
        assert {c["name"]: c["collectorVersion"] for c in listed["items"] if c["name"] in ("a", "b")} == \
            {"a": version, "b": version}, "each collector names its version"
        _, report, _ = hub.request("GET", "/doctor")
        paired = [f for f in report["findings"] if f["check"] == "collector-version"]
        assert sorted((f["subject"], f["status"]) for f in paired) == [("a", "ok"), ("b", "ok")], paired
        table = subprocess.run([BIN, "clusters"], env=env, check=True, capture_output=True, text=True).stdout
        assert table.splitlines()[0].split() == ["NAME", "EVENTS", "LAG", "RATE/MIN", "LOST", "LAST", "CONTACT"]
        row = next(line.split() for line in table.splitlines() if line.split()[0] == "a")
        assert row[1] == "3" and row[4] == "-", table  # nothing lost

        # kevents kubeconfig: kubectl --context switches between clusters.
        generated = tmp_path / "hub.kubeconfig"
        generated.write_text(subprocess.run([BIN, "kubeconfig", "--server", hub.url], env=env, check=True,
                                            capture_output=True, text=True).stdout)
        for context, expected in [("kevents-a", "from a"), ("kevents-b", "from b")]:
            out = subprocess.run(["kubectl", "--kubeconfig", str(generated), "--context", context, "get", "events",
                                  "-A"], check=True, capture_output=True, text=True, timeout=60).stdout
            assert out.count(expected) == 3, out
        out = subprocess.run(["kubectl", "--kubeconfig", str(generated), "--context", "kevents-all", "get",
                              "events", "-A", "-o", "name"], check=True, capture_output=True, text=True).stdout
        assert len(out.split()) == 6
    finally:
        collector.stop()


def test_hub_outage_catch_up_and_lag_metric(make_hub, tmp_path):
    sources, hub, kubeconfig = sources_and_hub(make_hub, tmp_path, names=("a",))
    api = core_api(sources["a"].url)
    api.create_namespaced_event("default", event_body("before"))
    collector = Collector(tmp_path, kubeconfig, hub.url).start()
    try:
        wait_converged(hub, {"a": sources["a"].url})
        assert collector.metric("kevents_collector_lag_seconds", "a") < 1.0

        hub.kill9()
        written = 0
        started = time.time()
        while time.time() - started < 4:
            api.create_namespaced_event("default", event_body(f"during-{written}"))
            written += 1
            time.sleep(0.1)
        lag_during = wait_for(lambda: collector.metric("kevents_collector_lag_seconds", "a") >= 3.0 and
                              collector.metric("kevents_collector_lag_seconds", "a"), message="the lag to rise")
        assert collector.metric("kevents_collector_batches_retried_total", "a") > 0

        hub.start()
        wait_converged(hub, {"a": sources["a"].url})
        assert len(snapshot(hub.url, "/clusters/a")) == written + 1
        wait_for(lambda: collector.metric("kevents_collector_lag_seconds", "a") < 1.0, message="the lag to fall")
        print(f"lag during the outage: {lag_during:.1f}s, {written} events caught up")
        assert collector.proc.poll() is None
    finally:
        collector.stop()


def generate_certs(tmp_path, client=None):
    certs = tmp_path / "certs"
    args = [BIN, "certs", "generate", "--dir", str(certs)] + (["--client", client] if client else [])
    subprocess.run(args, check=True, capture_output=True)
    return certs


def start_tls_source(make_hub, certs, extra):
    """A source on https (readiness polled with curl and the CA, like the security suite)."""
    source = make_hub(["--tls-cert-file", str(certs / "server.crt"), "--tls-private-key-file",
                       str(certs / "server.key")] + extra)
    log = open(source.log_path, "ab")
    source.proc = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{source.port}", "--data-dir",
                                    source.data_dir] + source.extra_args, stdout=log, stderr=log)
    source.url = source.url.replace("http://", "https://")
    wait_for(lambda: subprocess.run(["curl", "-sf", "--cacert", str(certs / "ca.crt"), f"{source.url}/readyz"],
                                    capture_output=True).returncode == 0, message="the TLS source")
    return source


def create_with_curl(source, certs, name, auth_args):
    body = event_body(name, message=f"secure {name}")
    payload = json.dumps(core_api("http://unused").api_client.sanitize_for_serialization(body))
    result = subprocess.run(["curl", "-sf", "--cacert", str(certs / "ca.crt"), "-H", "Content-Type: application/json",
                             "-X", "POST", "--data", payload, f"{source.url}/api/v1/namespaces/default/events"]
                            + auth_args, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_tls_source_with_client_certificate(make_hub, tmp_path):
    certs = generate_certs(tmp_path, client="collector")
    policy = tmp_path / "policy.yaml"
    policy.write_text("rules:\n- users: [collector]\n  verbs: [\"*\"]\n")
    source = start_tls_source(make_hub, certs, ["--client-ca-file", str(certs / "ca.crt"),
                                                "--authorization-policy-file", str(policy)])
    hub = make_hub().start()
    client_auth = ["--cert", str(certs / "client.crt"), "--key", str(certs / "client.key")]
    create_with_curl(source, certs, "tls-1", client_auth)
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", {"secure": {
        "server": source.url,
        "cluster": {"certificate-authority": str(certs / "ca.crt")},
        "user": {"client-certificate": str(certs / "client.crt"), "client-key": str(certs / "client.key")},
    }})
    collector = Collector(tmp_path, kubeconfig, hub.url).start()
    try:
        wait_for(lambda: set(snapshot(hub.url, "/clusters/secure") or {}) == {("default", "tls-1")},
                 message="the TLS source's event on the hub")
        create_with_curl(source, certs, "tls-2", client_auth)
        wait_for(lambda: len(snapshot(hub.url, "/clusters/secure") or {}) == 2, message="the watched event")
    finally:
        collector.stop()


def test_token_source_and_a_wrong_token_collects_nothing(make_hub, tmp_path):
    tokens = tmp_path / "tokens.csv"
    tokens.write_text('collector-token,collector,u1\n')
    policy = tmp_path / "policy.yaml"
    policy.write_text("rules:\n- users: [collector]\n  verbs: [\"*\"]\n")
    source = make_hub(["--token-auth-file", str(tokens), "--authorization-policy-file", str(policy)]).start()
    hub = make_hub().start()
    status, _, _ = source.request("POST", "/api/v1/namespaces/default/events",
                                  core_api("http://unused").api_client.sanitize_for_serialization(
                                      event_body("tok-1")),
                                  headers={"Authorization": "Bearer collector-token"})
    assert status == 201
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", {
        "right": {"server": source.url, "user": {"token": "collector-token"}},
        "wrong": {"server": source.url, "user": {"token": "not-a-token"}},
    })
    right = Collector(tmp_path, kubeconfig, hub.url, ["--context", "right"]).start()
    wrong = Collector(tmp_path, kubeconfig, hub.url, ["--context", "wrong"]).start()
    try:
        wait_for(lambda: set(snapshot(hub.url, "/clusters/right") or {}) == {("default", "tok-1")},
                 message="the token source's event on the hub")
        wait_for(lambda: wrong.metric("kevents_collector_watch_errors_total", "wrong") >= 1,
                 message="the wrong token to be refused")
        assert not snapshot(hub.url, "/clusters/wrong")
        assert "401" in wrong.log() or "Unauthorized" in wrong.log()
    finally:
        right.stop()
        wrong.stop()


def test_invalid_cluster_name_is_refused_before_anything_runs(tmp_path):
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", {"Prod_EU": {"server": "http://127.0.0.1:9"}})
    result = subprocess.run([BIN, "collect", "--kubeconfig", kubeconfig, "--to", "http://127.0.0.1:9"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert 'cluster name "Prod_EU"' in result.stderr and "--cluster-name" in result.stderr, result.stderr
    result = subprocess.run([BIN, "collect", "--kubeconfig", kubeconfig, "--to", "http://127.0.0.1:9",
                             "--context", "nope"], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0 and 'context "nope" is not in the kubeconfig' in result.stderr, result.stderr


def test_collecting_under_the_hubs_own_name_is_refused(make_hub, tmp_path):
    source = make_hub().start()
    hub = make_hub(["--cluster-name", "main"]).start()
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", {"main": {"server": source.url}})
    result = subprocess.run([BIN, "collect", "--kubeconfig", kubeconfig, "--to", hub.url],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "is the hub's own cluster name" in result.stderr, result.stderr
