"""The manifests in deploy/: the Helm chart renders what the kustomize trees build, helm lints
it, the PrometheusRule is what `kevents rules export` prints, and the container image builds
where an engine runs. (tests/python/test_deploy_cluster.py applies them to a real apiserver.)"""

import json
import os
import shutil
import subprocess

import pytest

from collecting import Collector, core_api, event_body, wait_for, write_kubeconfig
from conftest import BIN
from deploying import (CHART, DEPLOY, KUSTOMIZE, ROOT, by_identity, helm_binary, helm_template,
                       kustomize, parse, rules_export, without_helm_labels)

# Each kustomize tree and the chart values that must render the same objects.
EQUIVALENTS = {
    "base": (),
    "overlays/tls-token": ("tls.enabled=true", "auth.enabled=true"),
    "overlays/prometheus": ("serviceMonitor.enabled=true", "prometheusRule.enabled=true"),
}


@pytest.fixture(scope="module")
def helm():
    return helm_binary()


def assert_same_objects(rendered, built):
    rendered = by_identity(without_helm_labels(o) for o in parse(rendered))
    built = by_identity(parse(built))
    assert sorted(rendered, key=str) == sorted(built, key=str), "the two render different objects"
    for key, obj in built.items():
        assert rendered[key] == obj, f"{key} differs"


def test_helm_default_values_render_the_kustomize_base(helm):
    assert_same_objects(helm_template(helm), kustomize(KUSTOMIZE / "base"))


@pytest.mark.parametrize("tree", [t for t in EQUIVALENTS if t != "base"])
def test_helm_options_render_the_kustomize_overlays(helm, tree):
    assert_same_objects(helm_template(helm, *EQUIVALENTS[tree]), kustomize(KUSTOMIZE / tree))


def test_helm_labels_are_the_only_difference_ignored(helm):
    objects = parse(helm_template(helm))
    assert objects and all(o["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm" for o in objects)
    assert all(o["metadata"]["labels"]["helm.sh/chart"] == "kevents-0.1.0" for o in objects)


@pytest.mark.parametrize("values", [(), sum(EQUIVALENTS.values(), ())], ids=["defaults", "every-option"])
def test_helm_lint_passes(helm, values):
    args = [helm, "lint", "--strict", str(CHART)]
    for value in values:
        args += ["--set", value]
    result = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


def test_kustomize_base_holds_the_hub_and_a_least_privileged_collector():
    objects = by_identity(parse(kustomize(KUSTOMIZE / "base")))
    kinds = sorted((kind, name) for _, kind, _, name in objects)
    assert kinds == [("ClusterRole", "kevents-collector"), ("ClusterRoleBinding", "kevents-collector"),
                     ("Deployment", "kevents-collector"), ("Service", "kevents-hub"),
                     ("ServiceAccount", "kevents-collector"), ("StatefulSet", "kevents-hub")]
    role = objects[("rbac.authorization.k8s.io/v1", "ClusterRole", None, "kevents-collector")]
    assert role["rules"] == [{"apiGroups": [""], "resources": ["events"], "verbs": ["list", "watch"]}]
    hub = objects[("apps/v1", "StatefulSet", "kevents", "kevents-hub")]
    pod = hub["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert hub["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "10Gi"
    collector = objects[("apps/v1", "Deployment", "kevents", "kevents-collector")]["spec"]["template"]["spec"]
    assert collector["serviceAccountName"] == "kevents-collector"
    assert "--in-cluster" in collector["containers"][0]["args"]
    assert "--to=http://kevents-hub:8080" in collector["containers"][0]["args"]


def test_an_overlay_moving_kevents_to_another_namespace_rebinds_the_collector(tmp_path):
    base = os.path.relpath(KUSTOMIZE / "base", tmp_path)
    (tmp_path / "kustomization.yaml").write_text(f"namespace: monitoring\nresources:\n  - {base}\n")
    result = subprocess.run(["kubectl", "kustomize", "--load-restrictor", "LoadRestrictionsNone", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    objects = by_identity(parse(result.stdout))
    binding = objects[("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", None, "kevents-collector")]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "kevents-collector", "namespace": "monitoring"}]
    assert ("v1", "ServiceAccount", "monitoring", "kevents-collector") in objects


def test_kustomize_tls_token_overlay_serves_https_with_tokens_only():
    objects = by_identity(parse(kustomize(KUSTOMIZE / "overlays" / "tls-token")))
    hub = objects[("apps/v1", "StatefulSet", "kevents", "kevents-hub")]["spec"]["template"]["spec"]
    args = hub["containers"][0]["args"]
    assert "--insecure-allow-unauthenticated" not in args
    assert "--token-auth-file=/etc/kevents/tokens/tokens.csv" in args
    assert hub["containers"][0]["readinessProbe"]["httpGet"]["scheme"] == "HTTPS"
    collector = objects[("apps/v1", "Deployment", "kevents", "kevents-collector")]["spec"]["template"]["spec"]
    assert "--to=https://kevents-hub:8080" in collector["containers"][0]["args"]
    assert "--to-token-file=/etc/kevents/token/token" in collector["containers"][0]["args"]
    assert ("v1", "ConfigMap", "kevents", "kevents-hub-policy") in objects


def test_kustomize_prometheus_overlay_adds_the_operator_objects():
    objects = by_identity(parse(kustomize(KUSTOMIZE / "overlays" / "prometheus")))
    assert ("monitoring.coreos.com/v1", "ServiceMonitor", "kevents", "kevents") in objects
    assert ("monitoring.coreos.com/v1", "PrometheusRule", "kevents", "kevents") in objects
    assert ("v1", "Service", "kevents", "kevents-collector-metrics") in objects


def container_args(objects, kind, name, mounts):
    """The container's arguments with the pod's mount paths replaced by local directories."""
    spec = objects[("apps/v1", kind, "kevents", name)]["spec"]["template"]["spec"]
    args = spec["containers"][0]["args"][1:]
    for mount, local in mounts.items():
        args = [a.replace(mount, str(local)) for a in args]
    return args


def test_tls_token_overlay_hub_and_collector_work_with_the_documented_secrets(make_hub, tmp_path):
    """The overlay's own arguments, policy and Secret layout (docs/deploy.md#tls-and-tokens),
    run as processes: the collector's token and policy are enough to collect a cluster."""
    objects = by_identity(parse(kustomize(KUSTOMIZE / "overlays" / "tls-token")))
    tls, tokens, policy, token = (tmp_path / d for d in ("tls", "tokens", "policy", "token"))
    certs = tmp_path / "certs"
    subprocess.run([BIN, "certs", "generate", "--dir", str(certs), "--host", "kevents-hub", "--host", "localhost"],
                   check=True, capture_output=True)
    for directory in (tls, tokens, policy, token):
        directory.mkdir()
    for key, generated in (("tls.crt", "server.crt"), ("tls.key", "server.key"), ("ca.crt", "ca.crt")):
        (tls / key).write_bytes((certs / generated).read_bytes())
    (token / "token").write_text("collector-secret")
    (tokens / "tokens.csv").write_text("collector-secret,kevents-collector,kevents-collector")
    (policy / "policy.yaml").write_text(objects[("v1", "ConfigMap", "kevents", "kevents-hub-policy")]["data"]["policy.yaml"])

    hub_args = container_args(objects, "StatefulSet", "kevents-hub",
                              {"/etc/kevents/tls": tls, "/etc/kevents/tokens": tokens, "/etc/kevents/policy": policy})
    hub = make_hub([a for a in hub_args if not a.startswith(("--listen=", "--data-dir="))])
    log = open(hub.log_path, "ab")
    hub.proc = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{hub.port}", "--data-dir", hub.data_dir]
                                + hub.extra_args, stdout=log, stderr=log)
    url = f"https://localhost:{hub.port}"
    curl = ["curl", "-sf", "--cacert", str(tls / "ca.crt")]
    wait_for(lambda: subprocess.run(curl + [f"{url}/readyz"], capture_output=True).returncode == 0,
             message="the hub on https")
    assert subprocess.run(curl + [f"{url}/api/v1/events"], capture_output=True).returncode != 0, "no token, no events"

    source = make_hub().start()
    for name in ("a", "b"):
        core_api(source.url).create_namespaced_event("default", event_body(name))
    kubeconfig = write_kubeconfig(tmp_path / "source.kubeconfig", {"src": {"server": source.url}})
    collector_args = container_args(objects, "Deployment", "kevents-collector",
                                    {"/etc/kevents/hub-ca": tls, "/etc/kevents/token": token})
    assert "--in-cluster" in collector_args and "--to=https://kevents-hub:8080" in collector_args
    # Collector() passes --kubeconfig, --to and --metrics-addr of its own.
    collector_args = [a for a in collector_args
                      if a != "--in-cluster" and not a.startswith(("--to=", "--metrics-addr="))]
    collector = Collector(tmp_path, kubeconfig, url, collector_args).start()
    try:
        def collected():
            answer = subprocess.run(curl + ["-H", "Authorization: Bearer collector-secret",
                                            f"{url}/kevents/v1/clusters/local"], capture_output=True, text=True)
            return answer.returncode == 0 and json.loads(answer.stdout).get("events") == 2

        wait_for(collected, timeout=60, message="both events counted on the hub for cluster local")
        assert "refused" not in collector.log()
    finally:
        collector.stop()


def test_prometheus_rule_in_deploy_is_what_rules_export_prints_now():
    exported = rules_export("--format", "prometheus-rule")
    for copy in (KUSTOMIZE / "components" / "prometheus" / "prometheusrule.yaml",
                 CHART / "files" / "prometheusrule.yaml"):
        assert copy.read_text() == exported, (
            f"{copy.relative_to(ROOT)} is not what `kevents rules export --format prometheus-rule` prints: "
            f"regenerate it with that command")
    exported_object = parse(exported)[0]
    assert exported_object["spec"] == parse(rules_export("--format", "prometheus"))[0]
    assert "HighWarningEventRate" in [r["alert"] for r in exported_object["spec"]["groups"][0]["rules"]]


def test_helm_prometheus_rule_holds_the_exported_groups(helm):
    exported = parse(rules_export("--format", "prometheus-rule"))[0]
    rendered = [o for o in parse(helm_template(helm, "prometheusRule.enabled=true")) if o["kind"] == "PrometheusRule"]
    assert len(rendered) == 1 and rendered[0]["spec"] == exported["spec"]


def container_engine():
    for engine in ("docker", "podman"):
        if shutil.which(engine) and subprocess.run([engine, "info"], capture_output=True, timeout=60).returncode == 0:
            return engine
    return None


def test_container_image_builds_static_non_root_without_a_shell():
    engine = container_engine()
    if engine is None:
        pytest.skip("no container engine is running (`docker info` and `podman info` fail)")
    tag = "kevents-test:deploy"
    build = subprocess.run([engine, "build", "-f", str(DEPLOY / "Containerfile"), "-t", tag, str(ROOT)],
                           capture_output=True, text=True, timeout=3600)
    assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]
    inspect = subprocess.run([engine, "image", "inspect", tag, "--format", "{{.Config.User}}"],
                             capture_output=True, text=True, check=True)
    assert inspect.stdout.strip() == "65532:65532"
    usage = subprocess.run([engine, "run", "--rm", "--read-only", tag, "--help"], capture_output=True, text=True)
    assert usage.returncode == 0 and "serve" in usage.stdout, usage.stderr
    shell = subprocess.run([engine, "run", "--rm", "--entrypoint", "/bin/sh", tag, "-c", "true"],
                           capture_output=True, text=True)
    assert shell.returncode != 0, "the image has a shell"
