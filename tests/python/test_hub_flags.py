"""The one set of hub flags against a hub serving TLS with tokens and client certificates: the
collector writing into it with the `--to…` names of earlier releases, their
`KEVENTS_COLLECT_TO_*` variables and the shared flags' variables; `kevents clusters`, `get` and
`kubeconfig` with the flags, their environment variables and a kubeconfig (which kubectl reads
too); and the hub's refusal when no credential is given."""

import json
import os
import subprocess

from collecting import Collector, core_api, event_body, wait_for, write_kubeconfig
from conftest import BIN
from test_collect import generate_certs, start_tls_source

TOKEN = "hub-token"
HUB_VARIABLES = ["KEVENTS_SERVER", "KEVENTS_TOKEN", "KEVENTS_TOKEN_FILE", "KEVENTS_CERTIFICATE_AUTHORITY",
                 "KEVENTS_CLIENT_CERTIFICATE", "KEVENTS_CLIENT_KEY", "KEVENTS_COLLECT_TO",
                 "KEVENTS_COLLECT_TO_TOKEN", "KEVENTS_COLLECT_TO_TOKEN_FILE", "KEVENTS_COLLECT_TO_CA"]


def clean_env(**variables):
    env = {k: v for k, v in os.environ.items() if k not in HUB_VARIABLES}
    env.update({k: str(v) for k, v in variables.items()})
    return env


def kevents(*args, env=None, check=True):
    return subprocess.run([BIN, *map(str, args)], capture_output=True, text=True, timeout=60,
                          env=env or clean_env(), check=check)


def secure_hub(make_hub, tmp_path):
    certs = generate_certs(tmp_path, client="carol")
    tokens = tmp_path / "tokens.csv"
    tokens.write_text(f"{TOKEN},alice,u1\n")
    policy = tmp_path / "policy.yaml"
    policy.write_text('rules:\n- users: [alice, carol]\n  verbs: ["*"]\n')
    hub = start_tls_source(make_hub, certs, ["--token-auth-file", str(tokens), "--client-ca-file",
                                             str(certs / "ca.crt"), "--authorization-policy-file", str(policy)])
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    return hub, certs, token_file


def collected(hub, certs, token_file, cluster):
    """Events the hub holds for `cluster`, asked with the shared flags."""
    listed = json.loads(kevents("clusters", "--server", hub.url, "--certificate-authority", certs / "ca.crt",
                                "--token-file", token_file, "-o", "json").stdout)
    return next((c["events"] for c in listed["items"] if c["name"] == cluster), 0)


def test_collectors_write_into_a_tls_hub_with_old_and_new_flag_names(make_hub, tmp_path, monkeypatch):
    hub, certs, token_file = secure_hub(make_hub, tmp_path)
    sources = {name: make_hub().start() for name in ("old", "oldenv", "new")}
    for name, source in sources.items():
        core_api(source.url).create_namespaced_event("default", event_body(f"{name}-1", message=f"from {name}"))
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", {n: {"server": s.url} for n, s in sources.items()})
    for variable in HUB_VARIABLES:
        monkeypatch.delenv(variable, raising=False)

    # The flag names of earlier releases.
    old = Collector(tmp_path, kubeconfig, hub.url, ["--context", "old", "--to-ca", certs / "ca.crt",
                                                    "--to-token-file", token_file])
    # Their environment variables, without --to.
    old_env = Collector(tmp_path, kubeconfig, hub.url, ["--context", "oldenv"])
    old_env.args.remove("--to")
    old_env.args.remove(hub.url)
    monkeypatch.setenv("KEVENTS_COLLECT_TO", hub.url)
    monkeypatch.setenv("KEVENTS_COLLECT_TO_CA", str(certs / "ca.crt"))
    monkeypatch.setenv("KEVENTS_COLLECT_TO_TOKEN_FILE", str(token_file))
    collectors = [old.start(), old_env.start()]
    for variable in ["KEVENTS_COLLECT_TO", "KEVENTS_COLLECT_TO_CA", "KEVENTS_COLLECT_TO_TOKEN_FILE"]:
        monkeypatch.delenv(variable)
    # The shared flags' variables, with a client certificate instead of a token.
    new = Collector(tmp_path, kubeconfig, hub.url, ["--context", "new"])
    new.args.remove("--to")
    new.args.remove(hub.url)
    monkeypatch.setenv("KEVENTS_SERVER", hub.url)
    monkeypatch.setenv("KEVENTS_CERTIFICATE_AUTHORITY", str(certs / "ca.crt"))
    monkeypatch.setenv("KEVENTS_CLIENT_CERTIFICATE", str(certs / "client.crt"))
    monkeypatch.setenv("KEVENTS_CLIENT_KEY", str(certs / "client.key"))
    collectors.append(new.start())
    try:
        for name in sources:
            wait_for(lambda: collected(hub, certs, token_file, name) == 1, timeout=60,
                     message=f"cluster {name} collected into the TLS hub")
    finally:
        for collector in collectors:
            collector.stop()


def test_cli_commands_take_the_hub_flags_their_variables_or_a_kubeconfig(make_hub, tmp_path):
    hub, certs, token_file = secure_hub(make_hub, tmp_path)
    source = make_hub().start()
    core_api(source.url).create_namespaced_event("default", event_body("src-1", message="from src"))
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", {"src": {"server": source.url}})
    collector = Collector(tmp_path, kubeconfig, hub.url, ["--to-ca", certs / "ca.crt", "--token", TOKEN]).start()
    try:
        wait_for(lambda: collected(hub, certs, token_file, "src") == 1, timeout=60, message="the collected event")
    finally:
        collector.stop()

    # Variables only: a client certificate.
    env = clean_env(KEVENTS_SERVER=hub.url, KEVENTS_CERTIFICATE_AUTHORITY=certs / "ca.crt",
                    KEVENTS_CLIENT_CERTIFICATE=certs / "client.crt", KEVENTS_CLIENT_KEY=certs / "client.key")
    listed = json.loads(kevents("get", "--cluster", "src", "-o", "json", env=env).stdout)
    assert [e["message"] for e in listed["items"]] == ["from src"]
    # A token in a variable.
    env = clean_env(KEVENTS_SERVER=hub.url, KEVENTS_CERTIFICATE_AUTHORITY=certs / "ca.crt", KEVENTS_TOKEN=TOKEN)
    assert "src" in kevents("clusters", env=env).stdout

    # kevents kubeconfig writes the credentials; kevents and kubectl read them back.
    generated = tmp_path / "hub.kubeconfig"
    generated.write_text(kevents("kubeconfig", "--server", hub.url, "--certificate-authority", certs / "ca.crt",
                                 "--client-certificate", certs / "client.crt", "--client-key",
                                 certs / "client.key").stdout)
    listed = json.loads(kevents("get", "--kubeconfig", generated, "--cluster", "src", "-o", "json").stdout)
    assert [e["message"] for e in listed["items"]] == ["from src"]
    out = subprocess.run(["kubectl", "--kubeconfig", str(generated), "--context", "kevents-src", "get", "events",
                          "-A"], capture_output=True, text=True, timeout=60, check=True).stdout
    assert "from src" in out
    with_token = tmp_path / "token.kubeconfig"
    with_token.write_text(kevents("kubeconfig", "--server", hub.url, "--certificate-authority", certs / "ca.crt",
                                  "--token-file", token_file).stdout)
    listed = json.loads(kevents("get", "--kubeconfig", with_token, "-o", "json").stdout)
    assert [e["message"] for e in listed["items"]] == ["from src"]

    # No credential: the hub's 401, as one line.
    refused = kevents("clusters", "--server", hub.url, "--certificate-authority", certs / "ca.crt", check=False)
    assert refused.returncode == 1
    assert refused.stderr.startswith("Error: the hub answered 401"), refused.stderr
    # The wrong CA: the TLS handshake fails, named as such.
    untrusted = kevents("get", "--server", hub.url, check=False)
    assert untrusted.returncode == 1 and "TLS handshake" in untrusted.stderr, untrusted.stderr
