"""Objects that make a real control plane emit real events (controllers and the scheduler), and
kubeconfigs for it; shared by the suites that run against a real kube-apiserver."""

import http.client
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from collecting import wait_for


def deployment(name, namespace, replicas=2, cpu="10m"):
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "app", "image": "registry.invalid/app:1",
                                                       "resources": {"requests": {"cpu": cpu}}}]}}},
    }


def unschedulable_pod(name, namespace):
    """A pod no node can take: the scheduler reports FailedScheduling."""
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
        "spec": {"nodeSelector": {"kevents.io/nowhere": "true"},
                 "containers": [{"name": "app", "image": "registry.invalid/app:1"}]},
    }


def cronjob(name, namespace):
    return {
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name, "namespace": namespace},
        "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {
            "restartPolicy": "Never", "containers": [{"name": "job", "image": "registry.invalid/job:1"}]}}}}},
    }


def namespace(name):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def start_workloads(plane, ns):
    """A namespace with a Deployment (ScalingReplicaSet, SuccessfulCreate, Scheduled) and an
    unschedulable pod (FailedScheduling)."""
    plane.apply(namespace(ns))
    wait_for(lambda: plane.get(f"/api/v1/namespaces/{ns}/serviceaccounts/default")[0] == 200,
               message=f"the default ServiceAccount of {ns}")
    plane.apply(deployment("web", ns))
    plane.apply(unschedulable_pod("stuck", ns))


def core_event(name, namespace, count=1, message=None, reason="BackOff", kind="Pod", object_name=None):
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    object_name = object_name or f"pod-{name}"
    return {
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": namespace},
        "involvedObject": {"kind": kind, "name": object_name, "namespace": namespace, "apiVersion": "v1",
                           "uid": f"uid-{object_name}"},
        "reason": reason, "message": message or f"{name} x{count}", "type": "Warning",
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": now, "lastTimestamp": now, "count": count,
    }


def write_kubeconfig(path, plane, context="real", token=None):
    """A kubeconfig naming the control plane as `context`, as the admin (or with `token`)."""
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": context,
        "clusters": [{"name": context, "cluster": {"server": plane.server, "certificate-authority": str(plane.ca_file)}}],
        "users": [{"name": context, "user": {"token": token or plane.token}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
    }
    Path(path).write_text(json.dumps(config, indent=1))
    return Path(path)


def create_events(plane, names, writers, namespace="default"):
    """Creates the events `names` in the apiserver from `writers` keep-alive connections (the
    benchmarks' load); returns {name: (sent, acknowledged)} monotonic times and the seconds it
    all took."""
    times = {}
    local = threading.local()
    host, port = plane.server.removeprefix("https://").split(":")

    def create(name):
        if not hasattr(local, "connection"):
            local.connection = http.client.HTTPSConnection(host, int(port), context=plane.ssl_context())
        body = json.dumps(core_event(name, namespace))
        sent = time.monotonic()
        local.connection.request("POST", f"/api/v1/namespaces/{namespace}/events", body, {
            "Authorization": f"Bearer {plane.token}", "Content-Type": "application/json"})
        response = local.connection.getresponse()
        answer = response.read()
        assert response.status == 201, answer
        times[name] = (sent, time.monotonic())

    started = time.monotonic()
    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(create, names))
    return times, time.monotonic() - started
