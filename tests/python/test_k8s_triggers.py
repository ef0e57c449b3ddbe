"""Triggers that create Kubernetes objects through a real kube-apiserver: an Argo-style
`Workflow` (its CRD installed here) and a `Job`, once per firing, in the right namespace, with
labels that lead back to the TriggerRun, also across a hub restart; a create the identity may
not do (RBAC) is a failed TriggerRun carrying the apiserver's message; and an event collected
from the real cluster creates its object there through the collector's own credentials."""

import json
import time

from conftest import core_event
from collecting import wait_for
from test_triggers import post, runs

WORKFLOW_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "workflows.argoproj.io"},
    "spec": {
        "group": "argoproj.io",
        "scope": "Namespaced",
        "names": {"plural": "workflows", "singular": "workflow", "kind": "Workflow", "shortNames": ["wf"]},
        "versions": [{
            "name": "v1alpha1", "served": True, "storage": True,
            "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
        }],
    },
}

TRIGGERS = """triggers:
- name: debug-job
  when:
    event: {reason: BackOff, kind: Pod}
  action:
    kubernetes:
      context: admin
      object:
        apiVersion: batch/v1
        kind: Job
        metadata:
          generateName: debug-
          labels: {app: debug, pod: "{{ name }}"}
        spec:
          backoffLimit: 0
          template:
            spec:
              restartPolicy: Never
              containers:
              - {name: debug, image: busybox, args: [echo, "{{ object }} {{ reason }}"]}
- name: node-diagnostics
  when:
    event: {reason: NodeNotReady, kind: Node}
  action:
    kubernetes:
      context: admin
      object:
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {generateName: diagnose-node-, namespace: WF_NS}
        spec:
          entrypoint: main
          arguments:
            parameters: [{name: node, value: "{{ name }}"}]
  safety:
    dedupeKey: "{{ cluster }}/{{ name }}"
- name: forbidden-job
  when:
    event: {reason: FailedMount}
  action:
    kubernetes:
      context: limited
      object:
        apiVersion: batch/v1
        kind: Job
        metadata: {name: remount}
        spec:
          template:
            spec:
              restartPolicy: Never
              containers: [{name: x, image: busybox}]
"""


def event(name, namespace, reason, kind, object_name):
    body = core_event(name, namespace, reason=reason, type="Warning", message=f"{reason} on {object_name}")
    body["involvedObject"] = {"kind": kind, "name": object_name, "namespace": namespace if kind != "Node" else ""}
    return body


def two_context_kubeconfig(plane, path, limited_token):
    config = json.loads(plane.kubeconfig.read_text())
    config["users"].append({"name": "limited", "user": {"token": limited_token}})
    config["contexts"].append({"name": "limited", "context": {"cluster": "test", "user": "limited"}})
    path.write_text(json.dumps(config))
    return path


def test_kubernetes_actions_create_one_object_per_firing_and_report_forbidden_creates(control_plane, make_hub, tmp_path):
    plane = control_plane
    suffix = str(int(time.time() * 1000) % 10_000_000)
    namespace, wf_namespace = f"trg-{suffix}", f"trg-wf-{suffix}"
    plane.apply(WORKFLOW_CRD)
    for ns in (namespace, wf_namespace):
        plane.kubectl("create", "namespace", ns)
    plane.kubectl("-n", namespace, "create", "serviceaccount", "limited")
    token = plane.kubectl("-n", namespace, "create", "token", "limited").stdout.strip()
    wait_for(lambda: plane.kubectl("get", "crd", "workflows.argoproj.io", "-o",
                                   "jsonpath={.status.conditions[?(@.type=='Established')].status}").stdout == "True",
             message="the Workflow CRD")
    kubeconfig = two_context_kubeconfig(plane, tmp_path / "kubeconfig", token)
    triggers = tmp_path / "triggers.yaml"
    triggers.write_text(TRIGGERS.replace("WF_NS", wf_namespace))
    hub = make_hub(["--triggers", str(triggers), "--collect-kubeconfig", str(kubeconfig)]).start()

    post(hub, event("web-0.1", namespace, "BackOff", "Pod", "web-0"))
    post(hub, event("web-0.2", namespace, "BackOff", "Pod", "web-0"))  # same key: cooldown
    post(hub, event("node-1.1", "default", "NodeNotReady", "Node", "node-1"))
    post(hub, event("data-0.1", namespace, "FailedMount", "Pod", "data-0"))

    def finished():
        items = runs(hub)
        return items if len(items) == 3 and all(r["status"]["phase"] != "Pending" for r in items) else None
    by_trigger = {r["spec"]["trigger"]: r for r in wait_for(finished, timeout=60, message="three finished runs")}

    job_run = by_trigger["debug-job"]
    assert job_run["status"]["phase"] == "Succeeded", job_run["status"]
    assert job_run["status"]["suppressed"]["cooldown"] == 1
    jobs = json.loads(plane.kubectl("-n", namespace, "get", "jobs", "-l", "kevents.io/trigger=debug-job", "-o", "json").stdout)["items"]
    assert len(jobs) == 1
    job = jobs[0]["metadata"]
    digits = job_run["metadata"]["name"].rsplit("-", 1)[1]
    assert job["name"] == f"debug-{digits}" and job["namespace"] == namespace
    assert job["labels"]["kevents.io/trigger-run"] == job_run["metadata"]["name"]
    assert job["labels"]["pod"] == "web-0" and job["labels"]["app"] == "debug"
    created = job_run["status"]["createdObject"]
    assert (created["kind"], created["name"], created["namespace"], created["uid"]) == ("Job", job["name"], namespace, job["uid"])

    wf_run = by_trigger["node-diagnostics"]
    assert wf_run["status"]["phase"] == "Succeeded", wf_run["status"]
    workflows = json.loads(plane.kubectl("-n", wf_namespace, "get", "workflows", "-o", "json").stdout)["items"]
    assert [w["metadata"]["name"] for w in workflows] == [wf_run["status"]["createdObject"]["name"]]
    assert workflows[0]["metadata"]["labels"]["kevents.io/trigger-run"] == wf_run["metadata"]["name"]
    assert workflows[0]["spec"]["arguments"]["parameters"] == [{"name": "node", "value": "node-1"}]

    denied = by_trigger["forbidden-job"]
    assert denied["status"]["phase"] == "Failed" and denied["status"]["attempts"] == 1
    message = denied["status"]["message"]
    assert "Forbidden (403)" in message and 'cannot create resource "jobs"' in message, message
    assert f"system:serviceaccount:{namespace}:limited" in message, message

    # A restart neither repeats a firing nor creates a second object.
    hub.stop()
    hub.start()
    post(hub, event("web-0.3", namespace, "BackOff", "Pod", "web-0"))
    time.sleep(2)
    jobs = json.loads(plane.kubectl("-n", namespace, "get", "jobs", "-l", "kevents.io/trigger=debug-job", "-o", "json").stdout)["items"]
    assert len(jobs) == 1 and len(runs(hub)) == 3
    listed = hub.kubectl("get", "triggerruns", "-n", namespace).stdout
    assert "Failed" in listed and "Succeeded" in listed, listed
    for ns in (namespace, wf_namespace):
        plane.kubectl("delete", "namespace", ns, "--wait=false")


def test_an_event_of_a_collected_cluster_creates_the_object_through_the_collectors_credentials(control_plane, make_hub, tmp_path):
    plane = control_plane
    namespace = f"trg-col-{int(time.time() * 1000) % 10_000_000}"
    plane.kubectl("create", "namespace", namespace)
    triggers = tmp_path / "triggers.yaml"
    triggers.write_text("""triggers:
- name: evict-debug
  when:
    event: {reason: Evicted, cluster: real}
  action:
    kubernetes:
      object:
        apiVersion: v1
        kind: ConfigMap
        metadata: {generateName: evicted-}
        data: {pod: "{{ name }}", cluster: "{{ cluster }}"}
""")
    hub = make_hub(["--triggers", str(triggers), "--collect-context", "admin", "--collect-kubeconfig",
                    str(plane.kubeconfig), "--collect-cluster-name", "admin=real"]).start()
    # The event is written to the real apiserver; the hub's collector brings it in.
    status, body = plane.request("POST", f"/api/v1/namespaces/{namespace}/events",
                                 event("api-0.evicted", namespace, "Evicted", "Pod", "api-0"))
    assert status == 201, body
    run = wait_for(lambda: [r for r in runs(hub) if r["status"]["phase"] != "Pending"], timeout=60,
                   message="the run")[0]
    assert run["status"]["phase"] == "Succeeded", run["status"]
    assert run["spec"]["cluster"] == "real" and run["spec"]["action"]["target"] == "<collector of real>"
    created = run["status"]["createdObject"]
    config_map = json.loads(plane.kubectl("-n", namespace, "get", "configmap", created["name"], "-o", "json").stdout)
    assert config_map["data"] == {"pod": "api-0", "cluster": "real"}
    assert config_map["metadata"]["labels"]["kevents.io/trigger-run"] == run["metadata"]["name"]
    plane.kubectl("delete", "namespace", namespace, "--wait=false")
