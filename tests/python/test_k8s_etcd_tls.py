"""`kevents serve --etcd-listen` over TLS with client certificates, behind a real kube-apiserver:
the apiserver's `--etcd-certfile/--etcd-keyfile/--etcd-cafile` apply to the `/events` override
as to its main etcd (the override replaces only the server list; an `http://` main etcd is
reached without TLS by the same client settings), so events created through the apiserver land
in kevents over https; a client whose certificate the endpoint's CA did not sign, or that
presents none, is refused at the handshake."""

import socket
import ssl

import pytest

from collecting import wait_for
from conftest import Hub, free_port
from controlplane import issue_cert, make_ca


@pytest.fixture(scope="module")
def tls_plane(tmp_path_factory):
    """A hub serving etcd over TLS (clients must present a certificate of its CA) and a
    control plane whose apiserver stores its events there with a client certificate."""
    from controlplane import BuildUnavailable, ControlPlane

    base = tmp_path_factory.mktemp("etcd-tls")
    pki, other = base / "etcd-pki", base / "other-pki"
    pki.mkdir()
    other.mkdir()
    make_ca(pki)
    server_cert, server_key = issue_cert(pki, "kevents-etcd", "/CN=kevents")
    client_cert, client_key = issue_cert(pki, "apiserver-etcd-client", "/CN=kube-apiserver", client=True)
    make_ca(other)
    stranger = issue_cert(other, "stranger", "/CN=stranger", client=True)

    port = free_port()
    hub = Hub(base / "data", ["--etcd-listen", f"127.0.0.1:{port}",
                              "--etcd-cert-file", str(server_cert), "--etcd-key-file", str(server_key),
                              "--etcd-client-ca-file", str(pki / "ca.crt")])
    try:
        plane = ControlPlane(base / "k8s", controllers=False,
                             apiserver_args=["--etcd-certfile", str(client_cert), "--etcd-keyfile", str(client_key),
                                             "--etcd-cafile", str(pki / "ca.crt")],
                             etcd_servers_overrides=f"/events#https://127.0.0.1:{port}")
    except BuildUnavailable as e:
        pytest.skip(f"no real control plane: {e}")
    hub.start()
    try:
        plane.start()
        yield hub, plane, port, {"ca": pki / "ca.crt", "client": (client_cert, client_key), "stranger": stranger}
    finally:
        plane.stop()
        hub.stop()


def test_the_apiserver_writes_its_events_over_tls_with_its_client_certificate(tls_plane):
    hub, plane, _, _ = tls_plane
    ns = "etcd-tls"
    status, body = plane.request("POST", "/api/v1/namespaces",
                                 {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    assert status == 201, body
    for name in ("over-tls-1", "over-tls-2"):
        status, body = plane.request("POST", f"/api/v1/namespaces/{ns}/events", {
            "apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": ns},
            "involvedObject": {"kind": "Pod", "name": "web-0", "namespace": ns},
            "reason": "Written", "message": "through the apiserver over TLS", "type": "Normal",
        })
        assert status == 201, body
    assert {"over-tls-1", "over-tls-2"} <= {e["metadata"]["name"] for e in plane.events(ns)}

    def in_hub():
        status, body, _ = hub.request("GET", f"/api/v1/namespaces/{ns}/events")
        assert status == 200, body
        return {e["metadata"]["name"]: e["message"] for e in body["items"]}
    wait_for(lambda: in_hub() == {"over-tls-1": "through the apiserver over TLS",
                                  "over-tls-2": "through the apiserver over TLS"},
             timeout=30, message="the hub lists the events written over TLS")
    # The main etcd (plain http) holds no events: they went to kevents.
    assert int(plane.etcd("kv/range", {"key": "L3JlZ2lzdHJ5L2V2ZW50cy8=", "range_end": "L3JlZ2lzdHJ5L2V2ZW50czA=",
                                       "count_only": True}).get("count", 0)) == 0


def first_bytes(port, ca, cert=None):
    """Opens TLS to the endpoint (presenting `cert`, a (crt, key) pair, if given), sends the
    HTTP/2 preface and an empty SETTINGS frame as a gRPC client does, and returns what the
    server answers first (b"" when it closes); raises ssl.SSLError when it refuses the
    handshake."""
    context = ssl.create_default_context(cafile=str(ca))
    context.set_alpn_protocols(["h2"])
    if cert:
        context.load_cert_chain(str(cert[0]), str(cert[1]))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            tls.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))
            return tls.recv(64)


def refused(port, ca, cert=None):
    try:
        return first_bytes(port, ca, cert) == b""
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        return True


def test_a_client_certificate_of_another_ca_or_none_is_refused(tls_plane):
    hub, plane, port, certs = tls_plane
    # The apiserver's certificate is accepted: the server answers with its SETTINGS frame.
    assert first_bytes(port, certs["ca"], certs["client"])[3:4] == b"\x04"
    assert refused(port, certs["ca"], certs["stranger"])
    assert refused(port, certs["ca"])
    # The refusals changed nothing: the apiserver still writes through its own certificate.
    status, body = plane.request("POST", "/api/v1/namespaces/default/events", {
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": "after-refusals", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "web-0", "namespace": "default"}, "reason": "Written",
    })
    assert status == 201, body
    wait_for(lambda: any(e["metadata"]["name"] == "after-refusals"
                         for e in hub.request("GET", "/api/v1/namespaces/default/events")[1]["items"]),
             timeout=30, message="the hub has the event written after the refusals")
