"""The hub's multi-cluster side: idempotent ingest with durable cursors, the `/clusters/{name}`
Kubernetes API (kubectl, Python client), the root view across clusters, and authorization."""

import json
import os
import subprocess
import urllib.request
from pathlib import Path

from kubernetes import client as k8s

from conftest import core_event


def source_event(name, rv, count=1, namespace="default", message="Back-off restarting failed container"):
    body = core_event(name, namespace, reason="BackOff", type="Warning", message=message, count=count)
    body["metadata"].update({"uid": f"uid-{name}", "resourceVersion": str(rv),
                             "creationTimestamp": "2026-11-25T10:00:00Z"})
    return body


def ingest(hub, cluster, events, cursor=None, lag=None):
    body = {"events": events}
    if cursor is not None:
        body["cursor"] = cursor
    if lag is not None:
        body["lagSeconds"] = lag
    return hub.request("POST", f"/kevents/v1/clusters/{cluster}/ingest", body)


def test_a_watch_of_the_cluster_list_starts_with_every_cluster_then_follows_collectors(hub):
    assert ingest(hub, "prod", [source_event("web.1", 10)], cursor="10")[0] == 200
    with urllib.request.urlopen(f"{hub.url}/kevents/v1/clusters?watch=true&timeoutSeconds=10", timeout=20) as stream:
        start = [json.loads(stream.readline()) for _ in range(2)]
        assert [(c["type"], c["object"]["name"], c["object"]["own"]) for c in start] == [
            ("ADDED", "default", True), ("ADDED", "prod", False)]
        assert start[1]["object"]["cursor"] == "10" and start[1]["object"]["events"] == 1
        assert ingest(hub, "prod", [source_event("web.2", 11)], cursor="11", lag=0.5)[0] == 200
        # Only what changed is sent (the hub's own cluster did not), until the cursor shows.
        changes = []
        while not changes or changes[-1]["object"]["cursor"] != "11":
            line = stream.readline()
            assert line, changes
            changes.append(json.loads(line))
        assert {(c["type"], c["object"]["name"]) for c in changes} == {("MODIFIED", "prod")}
        assert (changes[-1]["object"]["events"], changes[-1]["object"]["lagSeconds"]) == (2, 0.5)


def test_wide_output_has_no_cluster_column_without_collected_clusters(hub):
    hub.request("POST", "/api/v1/namespaces/default/events", core_event("own.1"))
    header = hub.kubectl("get", "events", "-o", "wide").stdout.splitlines()[0]
    assert header.split()[-1] == "NAME" and "CLUSTER" not in header, header


def test_ingest_applies_each_source_version_once(hub):
    status, answer, _ = ingest(hub, "prod", [source_event("web.1", 10), source_event("web.2", 11)], cursor="11")
    assert status == 200, answer
    assert (answer["applied"], answer["skipped"], answer["cursor"]) == (2, 0, "11")
    # A replay (collector restart, relist after 410) changes nothing.
    status, answer, _ = ingest(hub, "prod", [source_event("web.1", 10), source_event("web.2", 11)])
    assert (answer["applied"], answer["skipped"]) == (0, 2)
    # A count update arrives as a newer version and is applied as an update, not a new event.
    status, answer, _ = ingest(hub, "prod", [source_event("web.1", 15, count=4), source_event("web.1", 12, count=2)])
    assert (answer["applied"], answer["skipped"]) == (1, 0)
    status, event, _ = hub.request("GET", "/clusters/prod/api/v1/namespaces/default/events/web.1")
    assert status == 200
    assert event["count"] == 4
    assert event["metadata"]["uid"] == "uid-web.1", "the source uid is kept"
    assert event["metadata"]["labels"]["kevents.io/cluster"] == "prod"
    # An older version after a newer one is skipped.
    _, answer, _ = ingest(hub, "prod", [source_event("web.1", 13, count=3)])
    assert (answer["applied"], answer["skipped"]) == (0, 1)
    _, listed, _ = hub.request("GET", "/clusters/prod/api/v1/events")
    assert sorted((e["metadata"]["name"], e["count"]) for e in listed["items"]) == [("web.1", 4), ("web.2", 1)]


def test_ingest_reports_bad_items_and_rejects_bad_batches(hub):
    bad = source_event("bad.1", 5)
    bad["involvedObject"] = {"kind": "Pod", "name": "web-0", "namespace": "other"}
    no_version = source_event("nover.1", 6)
    del no_version["metadata"]["resourceVersion"]
    status, answer, _ = ingest(hub, "prod", [source_event("ok.1", 4), bad, no_version])
    assert status == 200
    assert answer["applied"] == 1
    assert [e["index"] for e in answer["errors"]] == [1, 2]
    assert "resourceVersion" in answer["errors"][1]["message"]
    for cluster in ["Prod", "a_b", "-x"]:
        status, answer, _ = ingest(hub, cluster, [source_event("x.1", 1)])
        assert status == 400 and answer["kind"] == "Status" and answer["reason"] == "BadRequest", answer
    status, answer, _ = ingest(hub, "default", [source_event("x.1", 1)])
    assert status == 400 and "own name" in answer["message"]
    status, answer, _ = hub.request("POST", "/kevents/v1/clusters/prod/ingest", raw=b"{not json")
    assert status == 400 and answer["kind"] == "Status"
    status, answer, _ = hub.request("GET", "/kevents/v1/clusters/nowhere")
    assert status == 404 and answer["reason"] == "NotFound"


def test_same_names_in_two_clusters_and_the_root_view(hub):
    ingest(hub, "prod", [source_event("web.1", 10, message="from prod")])
    ingest(hub, "staging", [source_event("web.1", 3, message="from staging")])
    hub.request("POST", "/api/v1/namespaces/default/events", core_event("web.1", message="local"))

    everything = json.loads(hub.kubectl("get", "events", "-A", "-o", "json").stdout)["items"]
    seen = sorted(((e["metadata"].get("labels") or {}).get("kevents.io/cluster", ""), e["message"])
                  for e in everything)
    assert seen == [("", "local"), ("prod", "from prod"), ("staging", "from staging")]
    table = hub.kubectl("get", "events", "-A", "-L", "kevents.io/cluster").stdout
    assert "CLUSTER" in table.splitlines()[0] and "staging" in table, table
    wide = hub.kubectl("get", "events", "-A", "-o", "wide", "--sort-by=.message").stdout.splitlines()
    assert wide[0].split()[-1] == "CLUSTER", wide[0]
    assert [line.split()[-1] for line in wide[1:]] == ["prod", "staging", "default"], wide

    for cluster, message in [("prod", "from prod"), ("staging", "from staging"), ("default", "local")]:
        scoped = f"{hub.url}/clusters/{cluster}"
        out = hub.kubectl("--server", scoped, "get", "events", "-n", "default", "-o", "json").stdout
        items = json.loads(out)["items"]
        assert [i["message"] for i in items] == [message], (cluster, items)
        described = hub.kubectl("--server", scoped, "get", "event", "web.1", "-n", "default",
                                "-o", "jsonpath={.message}").stdout
        assert described == message

    selected = hub.kubectl("get", "events", "-A", "--field-selector", "cluster=staging", "-o", "json").stdout
    assert [i["message"] for i in json.loads(selected)["items"]] == ["from staging"]
    own = hub.kubectl("get", "events", "-A", "--field-selector", "cluster=default", "-o", "json").stdout
    assert [i["message"] for i in json.loads(own)["items"]] == ["local"]
    labelled = hub.kubectl("get", "events", "-A", "-l", "kevents.io/cluster=prod", "-o", "json").stdout
    assert [i["message"] for i in json.loads(labelled)["items"]] == ["from prod"]
    # Writes at the root go to the hub's own cluster and never touch a collected event.
    hub.kubectl("delete", "event", "web.1", "-n", "default")
    _, left, _ = hub.request("GET", "/api/v1/events")
    assert sorted(i["message"] for i in left["items"]) == ["from prod", "from staging"]


def test_paging_across_clusters_with_the_python_client(hub):
    for i in range(7):
        hub.request("POST", "/api/v1/namespaces/default/events", core_event(f"own.{i}"))
    ingest(hub, "prod", [source_event(f"p.{i}", 100 + i) for i in range(6)])
    ingest(hub, "qa", [source_event(f"q.{i}", 200 + i, namespace="kube-system") for i in range(5)])
    ingest(hub, "qa", [source_event(f"qd.{i}", 300 + i) for i in range(4)])
    api = k8s.CoreV1Api(k8s.ApiClient(k8s.Configuration(host=hub.url)))
    for namespace, expected in [(None, 22), ("default", 17), ("kube-system", 5)]:
        names, token = [], None
        while True:
            if namespace:
                page = api.list_namespaced_event(namespace, limit=4, _continue=token)
            else:
                page = api.list_event_for_all_namespaces(limit=4, _continue=token)
            names += [(e.metadata.labels or {}).get("kevents.io/cluster", "") + "/" + e.metadata.name
                      for e in page.items]
            token = page.metadata._continue
            if not token:
                break
        assert len(names) == expected == len(set(names)), (namespace, names)


def test_scoped_watch_sees_only_its_cluster(hub):
    _, listed, _ = hub.request("GET", "/clusters/prod/api/v1/events")
    rv = listed["metadata"]["resourceVersion"]
    ingest(hub, "staging", [source_event("s.1", 1)])
    ingest(hub, "prod", [source_event("p.1", 1)])
    hub.request("POST", "/api/v1/namespaces/default/events", core_event("own.1"))
    status, body, _ = hub.request("GET", f"/clusters/prod/api/v1/events?watch=true&resourceVersion={rv}&timeoutSeconds=1")
    lines = [json.loads(line) for line in body.strip().splitlines()] if isinstance(body, str) else [body]
    assert [(l["type"], l["object"]["metadata"]["name"]) for l in lines] == [("ADDED", "p.1")]


def test_cursors_and_events_survive_kill9(make_hub):
    hub = make_hub().start()
    ingest(hub, "prod", [source_event(f"e.{i}", 10 + i) for i in range(50)], cursor="59", lag=3.5)
    hub.kill9()
    hub.start()
    status, info, _ = hub.request("GET", "/kevents/v1/clusters/prod")
    assert status == 200
    assert (info["cursor"], info["events"]) == ("59", 50)
    _, answer, _ = ingest(hub, "prod", [source_event(f"e.{i}", 10 + i) for i in range(50)])
    assert (answer["applied"], answer["skipped"]) == (0, 50)
    _, clusters, _ = hub.request("GET", "/kevents/v1/clusters")
    names = [c["name"] for c in clusters["items"]]
    assert names == ["default", "prod"]


def test_lag_and_ingest_metrics(hub):
    ingest(hub, "prod", [source_event("m.1", 1), source_event("m.2", 2)], lag=7.25)
    ingest(hub, "prod", [source_event("m.1", 1)])
    status, text, _ = hub.request("GET", "/metrics")
    assert 'kevents_cluster_lag_seconds{cluster="prod"} 7.25' in text
    assert 'kevents_cluster_ingested_events_total{cluster="prod",result="applied"} 2' in text
    assert 'kevents_cluster_ingested_events_total{cluster="prod",result="skipped"} 1' in text


def test_policy_applies_per_cluster(make_hub, tmp_path):
    tokens = tmp_path / "tokens.csv"
    tokens.write_text("collector-token,collector,1\nreader-token,reader,2\n")
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "rules:\n"
        "- users: [collector]\n  verbs: [create]\n  resources: [events]\n  clusters: [prod]\n"
        "- users: [reader]\n  verbs: [get, list, watch]\n  resources: [events]\n  clusters: [staging]\n"
    )
    hub = make_hub(["--token-auth-file", str(tokens), "--authorization-policy-file", str(policy)]).start()
    auth = lambda token: {"Authorization": f"Bearer {token}"}
    body = {"events": [source_event("a.1", 1)]}
    status, _, _ = hub.request("POST", "/kevents/v1/clusters/prod/ingest", body, headers=auth("collector-token"))
    assert status == 200
    status, answer, _ = hub.request("POST", "/kevents/v1/clusters/staging/ingest", body, headers=auth("collector-token"))
    assert status == 403 and answer["reason"] == "Forbidden"
    status, _, _ = hub.request("GET", "/clusters/staging/api/v1/events", headers=auth("reader-token"))
    assert status == 200
    status, _, _ = hub.request("GET", "/clusters/prod/api/v1/events", headers=auth("reader-token"))
    assert status == 403


def test_cli_cluster_flag_reads_one_cluster(hub):
    ingest(hub, "prod", [source_event("web.1", 10, message="from prod")])
    hub.request("POST", "/api/v1/namespaces/default/events", core_event("web.1", message="local"))
    env = dict(os.environ, KEVENTS_SERVER=hub.url, NO_COLOR="1")
    binary = os.environ.get("KEVENTS_BIN", str(Path(__file__).resolve().parents[2] / "target" / "debug" / "kevents"))
    out = subprocess.run([binary, "get", "--cluster", "prod", "-o", "json"], capture_output=True, text=True,
                         env=env, check=True).stdout
    assert [e["message"] for e in json.loads(out)["items"]] == ["from prod"]
    out = subprocess.run([binary, "get", "--cluster", "default", "-o", "json"], capture_output=True, text=True,
                         env=env, check=True).stdout
    assert [e["message"] for e in json.loads(out)["items"]] == ["local"]
