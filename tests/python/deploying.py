"""What the deployment suites share: helm built from its Go module, rendering the chart and the
kustomize trees into parsed objects, and `kevents rules export`."""

import subprocess

import pytest
import yaml

from conftest import BIN, ROOT

DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "kevents"
KUSTOMIZE = DEPLOY / "kustomize"
RELEASE = "kevents"
NAMESPACE = "kevents"
# Labels Helm's conventions add and kustomize has no reason to: ignored when comparing.
HELM_LABELS = ("helm.sh/chart", "app.kubernetes.io/managed-by")


def helm_binary():
    """The path of helm built by scripts/build-helm (cached after the first build); skips the
    test with the build's own message when it cannot be built (no Go, no module proxy)."""
    result = subprocess.run([str(ROOT / "scripts" / "build-helm")], capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        pytest.skip(f"helm cannot be built (scripts/build-helm exited {result.returncode}): {result.stderr.strip()[-2000:]}")
    return result.stdout.strip().splitlines()[-1]


def parse(text):
    """Every object of a multi-document YAML stream (empty documents dropped)."""
    return [doc for doc in yaml.safe_load_all(text) if doc]


def kustomize(path):
    """The objects `kubectl kustomize` builds from `path`, as text."""
    result = subprocess.run(["kubectl", "kustomize", str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"kubectl kustomize {path} failed:\n{result.stderr}"
    return result.stdout


def helm_template(helm, *values, namespace=NAMESPACE):
    """The chart rendered for release `kevents` in `namespace` with `--set` values, as text."""
    args = [helm, "template", RELEASE, str(CHART), "--namespace", namespace]
    for value in values:
        args += ["--set", value]
    result = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"helm template {' '.join(values)} failed:\n{result.stderr}"
    return result.stdout


def without_helm_labels(obj):
    """A copy of `obj` without Helm's own labels."""
    obj = yaml.safe_load(yaml.safe_dump(obj))
    labels = obj.get("metadata", {}).get("labels")
    if labels is not None:
        for label in HELM_LABELS:
            labels.pop(label, None)
        if not labels:
            del obj["metadata"]["labels"]
    return obj


def by_identity(objects):
    """{(apiVersion, kind, namespace, name): object}, failing on a duplicate."""
    keyed = {}
    for obj in objects:
        meta = obj.get("metadata", {})
        key = (obj.get("apiVersion"), obj.get("kind"), meta.get("namespace"), meta.get("name"))
        assert key not in keyed, f"{key} appears twice"
        keyed[key] = obj
    return keyed


def rules_export(*args):
    """Standard output of `kevents rules export ARGS`."""
    result = subprocess.run([BIN, "rules", "export", *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout
