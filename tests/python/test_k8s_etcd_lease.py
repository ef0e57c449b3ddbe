"""Lease expiry through a real kube-apiserver started with `--event-ttl=1m` and
`--etcd-servers-overrides=/events#…` at a hub (no controllers: the test writes the event): the
apiserver attaches a lease to each event, the endpoint expires it, and the event leaves the
apiserver's view while the hub keeps it."""

import time

import pytest

from collecting import wait_for
from conftest import Hub, free_port
from k8s_workloads import core_event


@pytest.fixture(scope="module")
def ttl_hub_plane(tmp_path_factory):
    """A hub serving etcd, and a control plane (without controllers) storing its events there
    with a one-minute lease."""
    from controlplane import BuildUnavailable, ControlPlane

    base = tmp_path_factory.mktemp("etcd-lifecycle")
    etcd_port = free_port()
    hub = Hub(base / "data", ["--etcd-listen", f"127.0.0.1:{etcd_port}"])
    try:
        plane = ControlPlane(base / "k8s", event_ttl="1m", controllers=False,
                             etcd_servers_overrides=f"/events#http://127.0.0.1:{etcd_port}")
    except BuildUnavailable as e:
        pytest.skip(f"no real control plane: {e}")
    hub.start()
    try:
        plane.start()
        yield hub, plane
    finally:
        plane.stop()
        hub.stop()


def create(plane, name, namespace):
    """Creates an event through the apiserver; returns the HTTP status (0: no answer)."""
    try:
        status, _ = plane.request("POST", f"/api/v1/namespaces/{namespace}/events", core_event(name, namespace))
    except OSError:
        return 0
    return status


def namespace(plane, name):
    status, body = plane.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                                "metadata": {"name": name}})
    assert status == 201, body
    return name


def apiserver_names(plane, namespace):
    return {e["metadata"]["name"] for e in plane.events(namespace)}


def hub_names(hub, namespace):
    status, body, _ = hub.request("GET", f"/api/v1/namespaces/{namespace}/events")
    assert status == 200, body
    return {e["metadata"]["name"] for e in body["items"]}


def test_events_expire_from_the_apiserver_with_their_lease_and_stay_in_the_hub(ttl_hub_plane):
    hub, plane = ttl_hub_plane
    ns = namespace(plane, "lease")
    created = time.monotonic()
    assert create(plane, "short-lived", ns) == 201
    wait_for(lambda: "short-lived" in hub_names(hub, ns), timeout=10, message="the hub has the event")
    assert apiserver_names(plane, ns) == {"short-lived"}

    # The apiserver attaches a lease of the TTL (plus a few seconds it reuses the lease for);
    # the endpoint expires it and the apiserver's watch cache sees the delete.
    wait_for(lambda: not apiserver_names(plane, ns), timeout=100, interval=1, message="the lease to expire")
    assert time.monotonic() - created > 55, "the event left the apiserver before its TTL"
    status, _ = plane.request("GET", f"/api/v1/namespaces/{ns}/events/short-lived")
    assert status == 404
    assert hub_names(hub, ns) == {"short-lived"}
