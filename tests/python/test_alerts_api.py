"""The `alerts` resource (kevents.io/v1, read-only) with the real kubectl and the PyPI
`kubernetes` client: pending, firing and resolved alerts with the events behind them, a Table
for kubectl, a watch, 405 on writes, and the policy deciding which namespaces' alerts a user
sees."""

import json
import ssl
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from conftest import BIN, Hub, core_event

ADMIN = "alerts-admin-token"
READER = "alerts-reader-token"
POLICY = """rules:
- groups: [ops]
  verbs: ["*"]
- users: [reader]
  verbs: [get, list, watch]
  namespaces: [payments]
"""
RULES = """rules:
- name: PodFailing
  match: {reason: Failing}
  groupBy: [namespace, reason]
  resolveAfter: 10m
  labels: {severity: critical}
  annotations: {summary: "{{ objects }} failing in {{ namespace }}"}
- name: FailingAnywhere
  match: {reason: Failing}
  groupBy: [cluster]
  resolveAfter: 10m
  labels: {severity: warning}
- name: SlowBurn
  match: {reason: Slow}
  for: 1h
  groupBy: [namespace]
  labels: {severity: info}
- name: Blip
  match: {reason: Blip}
  groupBy: [namespace]
  resolveAfter: 2s
  labels: {severity: warning}
"""
GROUP, VERSION, PLURAL = "kevents.io", "v1", "alerts"


def request(hub, method, path, token, body=None):
    """Sends a request over TLS with a bearer token; returns (status, parsed JSON)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(hub.url + path, data=data, method=method,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    context = ssl.create_default_context(cafile=str(hub.ca_file))
    try:
        with urllib.request.urlopen(req, timeout=30, context=context) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def kubectl(hub, token, *args):
    # kubectl sends a bearer token only over TLS.
    return hub.kubectl("--token", token, "--certificate-authority", str(hub.ca_file), *args).stdout


@pytest.fixture(scope="module")
def alerts_hub(tmp_path_factory):
    """A hub over TLS with four rules, tokens and a policy, and events that make each rule's
    alert."""
    tmp = tmp_path_factory.mktemp("alerts")
    (tmp / "tokens.csv").write_text(f'{ADMIN},admin,u1,"ops"\n{READER},reader,u2\n')
    (tmp / "policy.yaml").write_text(POLICY)
    (tmp / "rules.yaml").write_text(RULES)
    certs = tmp / "certs"
    subprocess.run([BIN, "certs", "generate", "--dir", str(certs)], check=True, capture_output=True)
    hub = Hub(tmp / "data", ["--builtin-rules=false", "--rules", str(tmp / "rules.yaml"),
                             "--tls-cert-file", str(certs / "server.crt"),
                             "--tls-private-key-file", str(certs / "server.key"),
                             "--token-auth-file", str(tmp / "tokens.csv"),
                             "--authorization-policy-file", str(tmp / "policy.yaml")])
    hub.url = hub.url.replace("http://", "https://")
    hub.ca_file = certs / "ca.crt"
    hub.start()
    try:
        for namespace, name, reason in [("payments", "pay-1", "Failing"), ("payments", "pay-2", "Failing"),
                                        ("shop", "cart-1", "Failing"), ("payments", "pay-3", "Slow"),
                                        ("shop", "cart-2", "Blip")]:
            body = core_event(f"{name}.1", namespace, reason=reason, type="Warning",
                              message=f"{reason} {name}",
                              involvedObject={"kind": "Pod", "namespace": namespace, "name": name,
                                              "uid": f"uid-{name}", "apiVersion": "v1"})
            status, answer = request(hub, "POST", f"/api/v1/namespaces/{namespace}/events", ADMIN, body)
            assert status == 201, answer
        yield hub
    finally:
        hub.stop()


def api(hub, token):
    configuration = client.Configuration(host=hub.url)
    configuration.ssl_ca_cert = str(hub.ca_file)
    configuration.api_key = {"authorization": f"Bearer {token}"}
    return client.CustomObjectsApi(client.ApiClient(configuration))


def by_rule(items):
    return {(a["spec"]["rule"], a["metadata"]["namespace"]): a for a in items}


def wait_for_alerts(hub):
    """The list once every rule's alert is in its expected state (resolved Blip included)."""
    admin = api(hub, ADMIN)
    deadline = time.time() + 30
    while True:
        items = admin.list_cluster_custom_object(GROUP, VERSION, PLURAL)["items"]
        states = {key: a["status"]["state"] for key, a in by_rule(items).items()}
        if states.get(("Blip", "shop")) == "resolved" and len(states) == 5:
            return items
        assert time.time() < deadline, states
        time.sleep(0.3)


def test_alerts_list_firing_pending_and_resolved_with_their_events(alerts_hub):
    alerts = by_rule(wait_for_alerts(alerts_hub))
    assert set(alerts) == {("PodFailing", "payments"), ("PodFailing", "shop"), ("FailingAnywhere", ""),
                           ("SlowBurn", "payments"), ("Blip", "shop")}
    payments = alerts[("PodFailing", "payments")]
    assert payments["kind"] == "Alert" and payments["apiVersion"] == "kevents.io/v1"
    assert payments["status"]["state"] == "firing"
    assert payments["spec"]["severity"] == "critical"
    assert payments["metadata"]["labels"]["namespace"] == "payments"
    assert payments["metadata"]["labels"]["reason"] == "Failing"
    assert payments["spec"]["annotations"]["summary"] in {"Pod/pay-2, Pod/pay-1 failing in payments",
                                                          "Pod/pay-1, Pod/pay-2 failing in payments"}
    assert payments["status"]["count"] == 2 and payments["status"]["firingSince"]
    events = payments["status"]["events"]
    assert {e["name"] for e in events} == {"pay-1.1", "pay-2.1"}
    first = next(e for e in events if e["name"] == "pay-1.1")
    assert first["namespace"] == "payments" and first["reason"] == "Failing" and first["uid"]
    assert first["involvedObject"] == {"kind": "Pod", "namespace": "payments", "name": "pay-1", "uid": "uid-pay-1"}
    assert alerts[("SlowBurn", "payments")]["status"]["state"] == "pending"
    assert alerts[("SlowBurn", "payments")]["status"]["firingSince"] is None
    blip = alerts[("Blip", "shop")]
    assert blip["status"]["state"] == "resolved" and blip["status"]["resolvedAt"]
    assert blip["status"]["events"][0]["involvedObject"]["name"] == "cart-2"
    cluster_wide = alerts[("FailingAnywhere", "")]
    assert cluster_wide["status"]["count"] == 3 and len(cluster_wide["status"]["events"]) == 3
    # A label selector picks alerts by their labels.
    critical = api(alerts_hub, ADMIN).list_cluster_custom_object(GROUP, VERSION, PLURAL,
                                                                 label_selector="severity=critical")
    assert {a["spec"]["rule"] for a in critical["items"]} == {"PodFailing"}


def test_kubectl_gets_alerts_as_a_table_and_one_alert_by_name(alerts_hub):
    wait_for_alerts(alerts_hub)
    table = kubectl(alerts_hub, ADMIN, "get", "alerts.kevents.io", "-A")
    header = table.splitlines()[0].split()
    assert header[:5] == ["NAMESPACE", "NAME", "RULE", "SEVERITY", "STATE"], table
    assert "firing" in table and "pending" in table and "resolved" in table, table
    assert "Pod/pay-2" in table or "Pod/pay-1" in table, table
    short = kubectl(alerts_hub, ADMIN, "get", "alerts", "-n", "shop", "-o", "name").split()
    assert len(short) == 2 and all(line.startswith("alert.kevents.io/") for line in short), short
    name = next(line.split("/", 1)[1] for line in short if "podfailing" in line)
    one = kubectl(alerts_hub, ADMIN, "get", "alert", name, "-n", "shop", "-o",
                             "jsonpath={.status.events[0].involvedObject.name}")
    assert one == "cart-1"


def test_a_watch_of_alerts_starts_with_every_alert(alerts_hub):
    wait_for_alerts(alerts_hub)
    admin = api(alerts_hub, ADMIN)
    seen = [(e["type"], e["object"]["spec"]["rule"])
            for e in watch.Watch().stream(admin.list_namespaced_custom_object, GROUP, VERSION, "payments",
                                          PLURAL, timeout_seconds=1)]
    assert sorted(seen) == [("ADDED", "PodFailing"), ("ADDED", "SlowBurn")]


def test_alerts_are_read_only(alerts_hub):
    admin = api(alerts_hub, ADMIN)
    body = {"apiVersion": "kevents.io/v1", "kind": "Alert", "metadata": {"name": "made-up"}}
    with pytest.raises(ApiException) as refused:
        admin.create_namespaced_custom_object(GROUP, VERSION, "payments", PLURAL, body)
    assert refused.value.status == 405
    assert '"kind":"Status"' in refused.value.body.replace(" ", "")
    assert "MethodNotAllowed" in refused.value.body
    name = by_rule(wait_for_alerts(alerts_hub))[("PodFailing", "payments")]["metadata"]["name"]
    for method in ["DELETE", "PUT"]:
        status, answer = request(alerts_hub, method, f"/apis/kevents.io/v1/namespaces/payments/alerts/{name}",
                                 ADMIN, body if method == "PUT" else None)
        assert status == 405 and answer["kind"] == "Status" and answer["reason"] == "MethodNotAllowed", answer
    # Alerts are the hub's: a cluster's scope does not serve them.
    status, answer = request(alerts_hub, "GET", "/clusters/default/apis/kevents.io/v1/alerts", ADMIN)
    assert status == 404 and answer["kind"] == "Status", answer


def test_a_reader_sees_only_the_alerts_of_the_namespaces_the_policy_allows(alerts_hub):
    alerts = by_rule(wait_for_alerts(alerts_hub))
    reader = api(alerts_hub, READER)
    mine = reader.list_namespaced_custom_object(GROUP, VERSION, "payments", PLURAL)["items"]
    assert {(a["spec"]["rule"], a["metadata"]["namespace"]) for a in mine} == {
        ("PodFailing", "payments"), ("SlowBurn", "payments")}
    for listing in [lambda: reader.list_cluster_custom_object(GROUP, VERSION, PLURAL),
                    lambda: reader.list_namespaced_custom_object(GROUP, VERSION, "shop", PLURAL)]:
        with pytest.raises(ApiException) as refused:
            listing()
        assert refused.value.status == 403
    # An alert about no namespace needs a cluster-wide grant.
    cluster_wide = alerts[("FailingAnywhere", "")]["metadata"]["name"]
    status, answer = request(alerts_hub, "GET", f"/apis/kevents.io/v1/alerts/{cluster_wide}", READER)
    assert status == 403 and answer["reason"] == "Forbidden", answer
    status, answer = request(alerts_hub, "GET", f"/apis/kevents.io/v1/alerts/{cluster_wide}", ADMIN)
    assert status == 200 and answer["spec"]["rule"] == "FailingAnywhere", answer
    table = kubectl(alerts_hub, READER, "get", "alerts.kevents.io", "-n", "payments")
    assert "PodFailing" in table and "SlowBurn" in table and "Blip" not in table, table



def events_behind(hub):
    """Each listed alert's event references, by (rule, cluster, namespace)."""
    status, listed, _ = hub.request("GET", "/apis/kevents.io/v1/alerts")
    assert status == 200, listed
    return {(a["spec"]["rule"], a["metadata"]["labels"].get("cluster", ""), a["metadata"]["namespace"]):
            a["status"]["events"] for a in listed["items"]}


def test_the_events_behind_alerts_come_back_the_same_after_a_restart(tmp_path):
    """The rule engine keeps no file of its groups: a start rebuilds them from the stored
    events, and each alert names the same latest events, in the same order, with the same
    counts and times."""
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n- name: Failing\n  match: {reason: Failing}\n  groupBy: [cluster, namespace]\n"
                     "  resolveAfter: 10m\n")
    hub = Hub(tmp_path / "data", ["--builtin-rules=false", "--rules", str(rules)])
    hub.start()
    try:
        def failing(name, namespace="payments"):
            pod = name.split(".")[0]
            return core_event(name, namespace, reason="Failing", type="Warning", message=f"Failing {pod}",
                              involvedObject={"kind": "Pod", "namespace": namespace, "name": pod,
                                              "uid": f"uid-{pod}", "apiVersion": "v1"})
        # More distinct events than a group keeps references to.
        for i in range(12):
            status, answer, _ = hub.request("POST", "/api/v1/namespaces/payments/events", failing(f"api-{i}.1"))
            assert status == 201, answer
        # A repeat of an early event moves it to the front with its count.
        path = "/api/v1/namespaces/payments/events/api-3.1"
        status, repeated, _ = hub.request("GET", path)
        repeated.update(count=4, lastTimestamp=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        assert hub.request("PUT", path, repeated)[0] == 200
        # A collector's batch: one commit for all of its events.
        batch = [failing(f"edge-{i}.1", "shop") for i in range(3)]
        for i, event in enumerate(batch):
            event["metadata"].update(uid=f"uid-edge-event-{i}", resourceVersion=str(100 + i))
        status, answer, _ = hub.request("POST", "/kevents/v1/clusters/edge/ingest", {"events": batch})
        assert status == 200 and answer["applied"] == 3, answer
        deadline = time.time() + 30
        while True:
            before = events_behind(hub)
            payments = before.get(("Failing", "default", "payments"), [])
            if len(payments) == 10 and payments[0]["name"] == "api-3.1" and ("Failing", "edge", "shop") in before:
                break
            assert time.time() < deadline, before
            time.sleep(0.2)
        assert payments[0]["count"] == 4
        assert [e["name"] for e in before[("Failing", "edge", "shop")]] == ["edge-2.1", "edge-1.1", "edge-0.1"]
        hub.stop()
        hub.start()
        deadline = time.time() + 30
        while (after := events_behind(hub)) != before and time.time() < deadline:
            time.sleep(0.2)
        assert after == before
    finally:
        hub.stop()
