"""The Helm chart ``deploy/helm/countersign``: structure, values and what the templates use.

No ``helm`` binary can be installed on this machine (only PyPI, Debian and npm packages are
reachable, and none ships it), so the chart is checked by reading it: the non-template files are
valid YAML, ``values.yaml`` satisfies ``values.schema.json``, every ``.Values`` path a template
uses exists, the control flow of each template is balanced, and the objects a multi-replica
deployment needs are there.  Where ``helm`` is on PATH, ``helm lint`` and ``helm template`` run
as well.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import jsonschema
import pytest
import yaml

from tests.deploy.dockerfile import REPO

CHART = REPO / "deploy" / "helm" / "countersign"
TEMPLATES = CHART / "templates"
VALUE_PATH = re.compile(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
OPENERS = re.compile(r"{{-?\s*(if|range|with|define)\b")
ENDS = re.compile(r"{{-?\s*end\b")


def values() -> dict:
    return yaml.safe_load((CHART / "values.yaml").read_text())


def template_texts() -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(TEMPLATES.iterdir()) if p.is_file()}


def test_chart_metadata():
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    assert chart["name"] == "countersign"
    assert re.fullmatch(r"\d+\.\d+\.\d+", chart["version"])


def test_values_satisfy_the_schema():
    schema = json.loads((CHART / "values.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.validate(values(), schema)


def test_schema_refuses_a_mistyped_value():
    schema = json.loads((CHART / "values.schema.json").read_text())
    broken = values() | {"replicaCount": "two"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(values() | {"replicas": 2}, schema)


def test_every_value_a_template_uses_exists():
    known = values()
    for name, text in template_texts().items():
        for match in VALUE_PATH.finditer(text):
            node = known
            for part in match.group(1).strip(".").split("."):
                assert isinstance(node, dict) and part in node, f"{name}: .Values{match[1]}"
                node = node[part]


def test_template_blocks_are_balanced():
    for name, text in template_texts().items():
        if name.endswith(".txt"):
            continue
        assert len(OPENERS.findall(text)) == len(ENDS.findall(text)), name


def test_deployment_serves_replicas_with_probes_secrets_and_resources():
    text = (TEMPLATES / "deployment.yaml").read_text()
    helpers = (TEMPLATES / "_helpers.tpl").read_text()
    assert "replicas: {{ .Values.replicaCount }}" in text
    assert "path: /healthz" in text and "path: /readyz" in text
    assert "toYaml .Values.resources" in text
    assert "secretRef:" in helpers and "name: {{ .Values.envSecret }}" in helpers
    assert "secretName: {{ .Values.signingKey.secretName }}" in helpers
    assert "runAsNonRoot: true" in helpers and "readOnlyRootFilesystem: true" in helpers
    assert values()["replicaCount"] >= 2
    assert values()["resources"]["requests"]


def test_migration_runs_as_a_hook_before_install_and_upgrade():
    text = (TEMPLATES / "migration-job.yaml").read_text()
    assert "kind: Job" in text
    assert '"helm.sh/hook": pre-install,pre-upgrade' in text
    assert 'args: ["countersign", "migrate"]' in text


def test_optional_objects_are_switchable():
    kinds = {
        "ingress.yaml": ("kind: Ingress", ".Values.ingress.enabled"),
        "pdb.yaml": ("kind: PodDisruptionBudget", ".Values.podDisruptionBudget.enabled"),
        "servicemonitor.yaml": ("kind: ServiceMonitor", ".Values.serviceMonitor.enabled"),
        "service.yaml": ("kind: Service", None),
    }
    for name, (kind, switch) in kinds.items():
        text = (TEMPLATES / name).read_text()
        assert kind in text
        if switch:
            assert text.startswith("{{- if " + switch + " }}")


@pytest.mark.skipif(shutil.which("helm") is None, reason="helm is not installed here")
def test_helm_lint_and_template():
    subprocess.run(["helm", "lint", str(CHART)], check=True)
    rendered = subprocess.run(
        ["helm", "template", "cs", str(CHART), "--set", "ingress.enabled=true"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    kinds = {doc["kind"] for doc in yaml.safe_load_all(rendered) if doc}
    assert {"Deployment", "Service", "Ingress", "PodDisruptionBudget", "Job"} <= kinds
