"""`kevents serve --collect-context`: collectors inside the hub."""

from collecting import core_api, event_body, wait_converged, write_kubeconfig


def test_serve_collects_contexts_in_process(make_hub, tmp_path):
    source = make_hub().start()
    api = core_api(source.url)
    for i in range(5):
        api.create_namespaced_event("default", event_body(f"e{i}"))
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", {"src": {"server": source.url}})
    hub = make_hub(["--collect-context", "src", "--collect-kubeconfig", kubeconfig,
                    "--collect-cluster-name", "src=edge"]).start()
    wait_converged(hub, {"edge": source.url}, timeout=60)
    api.patch_namespaced_event("e0", "default", {"count": 9})
    views = wait_converged(hub, {"edge": source.url}, timeout=60)
    assert views["edge"][1][("default", "e0")][0] == 9
    status, metrics, _ = hub.request("GET", "/metrics")
    assert 'kevents_collector_lag_seconds{cluster="edge"}' in metrics


def test_serve_refuses_embedded_collection_behind_authentication(make_hub, tmp_path):
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", {"src": {"server": "http://127.0.0.1:9"}})
    tokens = tmp_path / "tokens.csv"
    tokens.write_text("t,alice,1\n")
    hub = make_hub(["--collect-context", "src", "--collect-kubeconfig", kubeconfig,
                    "--token-auth-file", str(tokens)])
    try:
        hub.start(timeout=10)
        raise AssertionError("the hub started")
    except RuntimeError:
        pass
    assert "kevents collect" in hub.log_path.read_text()
