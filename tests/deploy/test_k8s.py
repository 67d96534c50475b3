"""The Kubernetes manifests (deploy/k8s): both overlays render with kubectl's kustomize, every
object validates against the Kubernetes schema, and the operational rules hold for every
Deployment (probes, resources, security context, labels, shutdown timing, one image, the
contract's entry points), the NetworkPolicies and the alert rules.

kubectl and promtool are required (scripts/test installs them from Debian's packages): a
missing tool fails these tests rather than skipping them.
"""

from __future__ import annotations

import base64
import functools
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

pytestmark = pytest.mark.xdist_group("deploy")

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "prod")
NAMESPACES = {"dev": "wheelhouse-dev", "prod": "wheelhouse"}
IMAGES = {"dev": "wheelhouse:dev", "prod": "registry.example.org/wheelhouse/wheelhouse:0.1.0"}
K8S_SCHEMA_VERSION = "1.32"  # kubernetes-validate's schemas; the cluster version we target

SERVICES = ("upload", "simple", "search", "accounts")
WORKERS = ("relay", "search-indexer", "purger")
OURS = (*SERVICES, *WORKERS)
# The entry points of the ops contract, exactly.
COMMANDS = {
    **{name: ["python", "-m", f"services.{name}"] for name in SERVICES},
    **{name: ["wheelhouse", "worker", name] for name in WORKERS},
}
DB_WAIT = ["wheelhouse", "db", "wait", "--timeout", "600"]
MIGRATE = ["wheelhouse", "db", "upgrade"]
PRESTOP = ["sleep", "10"]
LABELS = ("name", "instance", "component", "part-of", "version")
CRD_GROUP = "monitoring.coreos.com/"
SEVERITIES = {"critical", "warning"}


# --- rendering -----------------------------------------------------------------------------


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; scripts/test installs it (apt-get install {package})")
    return path


@functools.cache
def kustomize_version() -> tuple[int, ...]:
    out = subprocess.run([_tool("kubectl", "kubernetes-client"), "version", "--client"],
                         capture_output=True, text=True, timeout=30)
    match = re.search(r"Kustomize Version:\s*v?(\d+)\.(\d+)", out.stdout)
    if match is None:
        # kubectl < 1.24 prints no kustomize version: it embeds kustomize v2 (Debian's 1.20 does).
        return (2, 0)
    return (int(match[1]), int(match[2]))


@functools.cache
def render(overlay: str) -> tuple[dict[str, Any], ...]:
    version = kustomize_version()
    if version < (4, 0):
        pytest.fail(
            f"kubectl's built-in kustomize is v{version[0]}.{version[1]}; the manifests need v4 or newer "
            "(`components`, `labelSelector` patch targets, `configMapGenerator` options): install "
            "kubectl >= 1.21, ideally the version of the cluster"
        )
    result = subprocess.run([_tool("kubectl", "kubernetes-client"), "kustomize", str(K8S / "overlays" / overlay)],
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        pytest.fail(f"kubectl kustomize overlays/{overlay} failed:\n{result.stderr}")
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def objects(overlay: str, kind: str) -> list[dict[str, Any]]:
    return [doc for doc in render(overlay) if doc["kind"] == kind]


def get(overlay: str, kind: str, name: str) -> dict[str, Any]:
    found = [doc for doc in objects(overlay, kind) if doc["metadata"]["name"] == name]
    assert len(found) == 1, f"{overlay}: expected one {kind} {name}, found {len(found)}"
    return found[0]


def generated(overlay: str, kind: str, prefix: str) -> dict[str, Any]:
    """A generated ConfigMap/Secret by its name before kustomize's hash suffix."""
    found = [doc for doc in objects(overlay, kind) if re.fullmatch(rf"{prefix}(-[a-z0-9]{{10}})?", doc["metadata"]["name"])]
    assert len(found) == 1, f"{overlay}: expected one {kind} {prefix}, found {len(found)}"
    return found[0]


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A LabelSelector (matchLabels and matchExpressions) against a pod's labels."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def pod_labels(overlay: str, name: str) -> dict[str, str]:
    return get(overlay, "Deployment", name)["spec"]["template"]["metadata"]["labels"]


def setting(overlay: str, container: dict[str, Any], key: str) -> str | None:
    """A variable as the container sees it: its own env first, then its envFrom ConfigMaps."""
    for env in container.get("env", []):
        if env["name"] == key:
            return env["value"]
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            data = get(overlay, "ConfigMap", source["configMapRef"]["name"]).get("data", {})
            if key in data:
                return data[key]
    return None


# --- render and schema ---------------------------------------------------------------------


class TestRender:
    def test_kustomize_is_v4_or_newer(self) -> None:
        assert kustomize_version() >= (4, 0)

    @pytest.mark.parametrize("overlay", OVERLAYS)
    def test_renders_into_its_namespace(self, overlay: str) -> None:
        docs = render(overlay)
        assert docs
        cluster_scoped = {"Namespace"}
        for doc in docs:
            if doc["kind"] not in cluster_scoped:
                assert doc["metadata"].get("namespace") == NAMESPACES[overlay], (doc["kind"], doc["metadata"]["name"])
        assert get(overlay, "Namespace", NAMESPACES[overlay])

    @pytest.mark.parametrize("overlay", OVERLAYS)
    def test_every_object_validates_against_the_kubernetes_schema(self, overlay: str) -> None:
        errors = []
        for doc in render(overlay):
            if doc["apiVersion"].startswith(CRD_GROUP):
                continue  # no schema shipped for Prometheus Operator CRDs: TestMonitoring checks them
            try:
                kubernetes_validate.validate(doc, K8S_SCHEMA_VERSION, strict=True)
            except kubernetes_validate.ValidationError as error:
                errors.append(f"{doc['kind']} {doc['metadata']['name']}: {error.message} at {list(error.path)}")
        assert not errors, "\n".join(errors)

    @pytest.mark.parametrize("overlay", OVERLAYS)
    def test_only_known_custom_resources(self, overlay: str) -> None:
        kinds = {doc["kind"] for doc in render(overlay) if doc["apiVersion"].startswith(CRD_GROUP)}
        assert kinds == {"PodMonitor", "PrometheusRule"}


# --- Deployments ---------------------------------------------------------------------------


DEPLOYMENTS = [(overlay, name) for overlay in OVERLAYS for name in (*OURS, "varnish")]
OUR_DEPLOYMENTS = [(overlay, name) for overlay in OVERLAYS for name in OURS]
SERVICE_DEPLOYMENTS = [(overlay, name) for overlay in OVERLAYS for name in SERVICES]


def _all_containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


class TestDeployments:
    """The rules of STYLE 12 and the ops contract, for every Deployment of both overlays."""

    @pytest.mark.parametrize(("overlay", "name"), DEPLOYMENTS)
    def test_labels(self, overlay: str, name: str) -> None:
        deployment = get(overlay, "Deployment", name)
        template = deployment["spec"]["template"]["metadata"]["labels"]
        for labels in (deployment["metadata"]["labels"], template):
            for key in LABELS:
                assert labels.get(f"app.kubernetes.io/{key}"), f"{name}: label app.kubernetes.io/{key} missing"
            assert labels["app.kubernetes.io/part-of"] == "wheelhouse"
            assert labels["app.kubernetes.io/name"] == name
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert "app.kubernetes.io/version" not in selector  # selectors are immutable; versions change
        assert selects(deployment["spec"]["selector"], template)

    @pytest.mark.parametrize(("overlay", "name"), DEPLOYMENTS)
    def test_no_service_account_token(self, overlay: str, name: str) -> None:
        spec = get(overlay, "Deployment", name)["spec"]["template"]["spec"]
        assert spec["automountServiceAccountToken"] is False
        account = get(overlay, "ServiceAccount", spec["serviceAccountName"])
        assert account["automountServiceAccountToken"] is False

    @pytest.mark.parametrize(("overlay", "name"), DEPLOYMENTS)
    def test_security_context(self, overlay: str, name: str) -> None:
        spec = get(overlay, "Deployment", name)["spec"]["template"]["spec"]
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True
        assert pod["runAsUser"] == 10001
        assert pod["seccompProfile"]["type"] == "RuntimeDefault"
        for container in _all_containers(spec):
            context = container["securityContext"]
            where = f"{name}/{container['name']}"
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            assert not context["capabilities"].get("add"), where
            assert context.get("runAsNonRoot", pod["runAsNonRoot"]) is True, where
            assert context.get("runAsUser", pod["runAsUser"]) == 10001, where
            assert context.get("seccompProfile", pod["seccompProfile"])["type"] == "RuntimeDefault", where
            assert not context.get("privileged", False), where

    @pytest.mark.parametrize(("overlay", "name"), DEPLOYMENTS)
    def test_resources_on_every_container(self, overlay: str, name: str) -> None:
        spec = get(overlay, "Deployment", name)["spec"]["template"]["spec"]
        for container in _all_containers(spec):
            resources = container.get("resources", {})
            for kind in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    assert resources.get(kind, {}).get(resource), f"{name}/{container['name']}: no {kind}.{resource}"

    @pytest.mark.parametrize(("overlay", "name"), DEPLOYMENTS)
    def test_probes_and_prestop(self, overlay: str, name: str) -> None:
        spec = get(overlay, "Deployment", name)["spec"]["template"]["spec"]
        for container in spec["containers"]:
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                assert probe in container, f"{name}/{container['name']}: no {probe}"
            assert container["lifecycle"]["preStop"]["exec"]["command"] == PRESTOP, f"{name}/{container['name']}"

    @pytest.mark.parametrize(("overlay", "name"), OUR_DEPLOYMENTS)
    def test_probe_endpoints(self, overlay: str, name: str) -> None:
        (container,) = get(overlay, "Deployment", name)["spec"]["template"]["spec"]["containers"]
        ports = {port["name"]: port["containerPort"] for port in container["ports"]}
        assert ports["metrics"] == 9100
        if name in SERVICES:
            assert ports["http"] == 8000
            expected = {"livenessProbe": ("/livez", "http"), "readinessProbe": ("/readyz", "http"),
                        "startupProbe": ("/livez", "http")}
        else:
            assert set(ports) == {"metrics"}  # workers serve metrics only
            expected = dict.fromkeys(("livenessProbe", "readinessProbe", "startupProbe"), ("/metrics", "metrics"))
        for probe, (path, port) in expected.items():
            http = container[probe]["httpGet"]
            assert (http["path"], http["port"]) == (path, port), f"{name}: {probe}"

    @pytest.mark.parametrize(("overlay", "name"), DEPLOYMENTS)
    def test_grace_period_outlasts_shutdown_timeout_and_prestop(self, overlay: str, name: str) -> None:
        spec = get(overlay, "Deployment", name)["spec"]["template"]["spec"]
        grace = spec["terminationGracePeriodSeconds"]
        for container in spec["containers"]:
            prestop = int(container["lifecycle"]["preStop"]["exec"]["command"][1])
            timeout = setting(overlay, container, "WHEELHOUSE_SHUTDOWN_TIMEOUT")
            if name in OURS:
                assert timeout is not None, f"{name}: WHEELHOUSE_SHUTDOWN_TIMEOUT not set"
            assert grace > int(timeout or 0) + prestop, f"{name}/{container['name']}: grace {grace}"
        if name == "upload":
            assert setting(overlay, spec["containers"][0], "WHEELHOUSE_SHUTDOWN_TIMEOUT") == "600"
            assert grace >= 630

    @pytest.mark.parametrize(("overlay", "name"), OUR_DEPLOYMENTS)
    def test_entry_points_and_db_wait(self, overlay: str, name: str) -> None:
        spec = get(overlay, "Deployment", name)["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        assert container["command"] == COMMANDS[name]
        assert "args" not in container
        (init,) = spec["initContainers"]
        assert init["command"] == DB_WAIT and "args" not in init
        for each in (container, init):
            refs = [next(iter(source.values()))["name"] for source in each["envFrom"]]
            assert any(ref.startswith("wheelhouse") for ref in refs)
            assert len(each["envFrom"]) == 2  # the settings ConfigMap and the Secret `wheelhouse`

    @pytest.mark.parametrize(("overlay", "name"), OUR_DEPLOYMENTS)
    def test_tmp_is_the_only_writable_path(self, overlay: str, name: str) -> None:
        spec = get(overlay, "Deployment", name)["spec"]["template"]["spec"]
        volumes = {volume["name"]: volume for volume in spec["volumes"]}
        for container in _all_containers(spec):
            mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
            assert set(mounts) == {"/tmp"}
            assert "emptyDir" in volumes[mounts["/tmp"]]

    @pytest.mark.parametrize("overlay", OVERLAYS)
    def test_one_image_for_all_our_containers(self, overlay: str) -> None:
        images = set()
        for doc in render(overlay):
            if doc["kind"] in ("Deployment", "Job") and doc["metadata"]["labels"].get("app.kubernetes.io/name") in (*OURS, "migrate"):
                images |= {container["image"] for container in _all_containers(doc["spec"]["template"]["spec"])}
        assert images == {IMAGES[overlay]}

    @pytest.mark.parametrize(("overlay", "name"), SERVICE_DEPLOYMENTS)
    def test_services_roll_without_losing_capacity(self, overlay: str, name: str) -> None:
        deployment = get(overlay, "Deployment", name)
        strategy = deployment["spec"]["strategy"]
        assert strategy["type"] == "RollingUpdate"
        assert strategy["rollingUpdate"]["maxUnavailable"] == 0
        assert "replicas" not in deployment["spec"]  # the HPA owns it

    @pytest.mark.parametrize(("overlay", "name"), [(o, n) for o in OVERLAYS for n in WORKERS])
    def test_workers_are_single_consumers(self, overlay: str, name: str) -> None:
        spec = get(overlay, "Deployment", name)["spec"]
        assert spec["replicas"] == 1
        strategy = spec["strategy"]
        assert strategy["type"] == "Recreate" or strategy["rollingUpdate"]["maxSurge"] == 0

    @pytest.mark.parametrize(("overlay", "name"), SERVICE_DEPLOYMENTS)
    def test_each_service_has_hpa_pdb_and_service(self, overlay: str, name: str) -> None:
        labels = pod_labels(overlay, name)
        hpa = get(overlay, "HorizontalPodAutoscaler", name)
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        if overlay == "dev":
            assert hpa["spec"]["minReplicas"] == hpa["spec"]["maxReplicas"] == 1
        else:
            assert hpa["spec"]["minReplicas"] >= 2
        pdb = get(overlay, "PodDisruptionBudget", name)
        assert pdb["apiVersion"] == "policy/v1"
        assert selects(pdb["spec"]["selector"], labels)
        service = get(overlay, "Service", name)
        assert selects({"matchLabels": service["spec"]["selector"]}, labels)
        assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(8000, "http")]

    @pytest.mark.parametrize("name", SERVICES)
    def test_prod_spreads_services_over_zones(self, name: str) -> None:
        spec = get("prod", "Deployment", name)["spec"]["template"]["spec"]
        keys = {constraint["topologyKey"] for constraint in spec["topologySpreadConstraints"]}
        assert "topology.kubernetes.io/zone" in keys


# --- the migration Job, settings, the edge ---------------------------------------------------


class TestMigrationAndSettings:
    @pytest.mark.parametrize("overlay", OVERLAYS)
    def test_migrate_job(self, overlay: str) -> None:
        job = get(overlay, "Job", "migrate")
        assert job["spec"]["ttlSecondsAfterFinished"] > 0  # gone after a while: the next release recreates it
        assert job["spec"]["backoffLimit"] >= 1
        spec = job["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        assert container["command"] == MIGRATE and "args" not in container
        assert spec["automountServiceAccountToken"] is False
        assert container["securityContext"]["readOnlyRootFilesystem"] is True

    def test_dev_runs_development_with_a_shared_secret_key(self) -> None:
        config = generated("dev", "ConfigMap", "wheelhouse")["data"]
        assert config["WHEELHOUSE_ENVIRONMENT"] == "development"
        assert config["WHEELHOUSE_NATS_REPLICAS"] == "1"
        secret = generated("dev", "Secret", "wheelhouse")
        key = base64.b64decode(secret["data"]["WHEELHOUSE_SECRET_KEY"]).decode()
        assert len(key) >= 32 and "dev-only" in key

    def test_prod_reads_an_operator_made_secret(self) -> None:
        config = generated("prod", "ConfigMap", "wheelhouse")["data"]
        assert config["WHEELHOUSE_ENVIRONMENT"] == "production"
        assert config["WHEELHOUSE_NATS_REPLICAS"] == "3"
        assert not objects("prod", "Secret")  # the operator creates `wheelhouse`; no values in git
        for deployment in objects("prod", "Deployment"):
            for container in _all_containers(deployment["spec"]["template"]["spec"]):
                for source in container.get("envFrom", []):
                    if "secretRef" in source:
                        assert source["secretRef"]["name"] == "wheelhouse"

    @pytest.mark.parametrize("overlay", OVERLAYS)
    def test_edge(self, overlay: str) -> None:
        spec = get(overlay, "Deployment", "varnish")["spec"]
        (varnish,) = [c for c in spec["template"]["spec"]["containers"] if c["name"] == "varnish"]
        args = " ".join(varnish["args"])
        for arg in ("-F", "-a http=:8080,HTTP", "-a purge=:8081,HTTP", "-f /etc/varnish/default.vcl", "-s malloc,"):
            assert arg in args
        assert any(c["name"] == "exporter" for c in spec["template"]["spec"]["containers"])
        vcl = generated(overlay, "ConfigMap", "varnish-vcl")
        for name in ("default.vcl", "backends.vcl"):
            assert vcl["data"][name] == (ROOT / "deploy" / "varnish" / name).read_text()
        volumes = {v["name"]: v for v in spec["template"]["spec"]["volumes"]}
        mount = next(m for m in varnish["volumeMounts"] if m["mountPath"] == "/etc/varnish")
        assert volumes[mount["name"]]["configMap"]["name"] == vcl["metadata"]["name"]
        # Clients on 80 -> 8080; the purger resolves the headless Service to every pod, on 8081.
        client = get(overlay, "Service", "varnish")["spec"]
        assert [(p["port"], p["targetPort"]) for p in client["ports"]] == [(80, "http")]
        purge = get(overlay, "Service", "varnish-purge")["spec"]
        assert purge["clusterIP"] == "None"
        assert [(p["name"], p["port"]) for p in purge["ports"]] == [("purge", 8081)]
        config = generated(overlay, "ConfigMap", "wheelhouse")["data"]
        assert config["WHEELHOUSE_EDGE_PURGE_DNS"] == "varnish-purge"
        assert config["WHEELHOUSE_EDGE_PURGE_PORT"] == "8081"
        if overlay == "prod":
            assert spec["replicas"] >= 3


# --- NetworkPolicies -----------------------------------------------------------------------


def _ingress_rules_reaching(overlay: str, labels: dict[str, str], port: int, port_name: str):
    for policy in objects(overlay, "NetworkPolicy"):
        if not selects(policy["spec"]["podSelector"], labels):
            continue
        for rule in policy["spec"].get("ingress", []):
            ports = rule.get("ports")
            if ports is None or any(p.get("port") in (port, port_name) for p in ports):
                yield policy["metadata"]["name"], rule


class TestNetworkPolicies:
    @pytest.mark.parametrize("overlay", OVERLAYS)
    def test_default_deny_both_ways(self, overlay: str) -> None:
        denies = [p for p in objects(overlay, "NetworkPolicy")
                  if p["spec"]["podSelector"] == {} and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
                  and not p["spec"].get("ingress") and not p["spec"].get("egress")]
        assert denies

    @pytest.mark.parametrize("overlay", OVERLAYS)
    def test_dns_egress_for_everyone(self, overlay: str) -> None:
        assert any(p["spec"]["podSelector"] == {} and any(
            {"protocol": "UDP", "port": 53} in rule.get("ports", []) for rule in p["spec"].get("egress", []))
            for p in objects(overlay, "NetworkPolicy"))

    @pytest.mark.parametrize(("overlay", "name"), SERVICE_DEPLOYMENTS)
    def test_only_the_edge_reaches_the_services(self, overlay: str, name: str) -> None:
        rules = list(_ingress_rules_reaching(overlay, pod_labels(overlay, name), 8000, "http"))
        assert rules, f"{name}: nothing may reach it at all"
        for policy, rule in rules:
            assert rule.get("from"), f"{policy}: open to every source"
            for peer in rule["from"]:
                assert set(peer) == {"podSelector"}, f"{policy}: {peer}"
                assert peer["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "varnish"}}, policy

    @pytest.mark.parametrize("overlay", OVERLAYS)
    def test_only_the_purger_reaches_the_purge_socket(self, overlay: str) -> None:
        rules = list(_ingress_rules_reaching(overlay, pod_labels(overlay, "varnish"), 8081, "purge"))
        assert rules
        for policy, rule in rules:
            assert rule.get("from"), f"{policy}: purge socket open to every source"
            for peer in rule["from"]:
                assert peer == {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "purger"}}}, policy

    @pytest.mark.parametrize("overlay", OVERLAYS)
    def test_everyone_reaches_the_edge_client_socket(self, overlay: str) -> None:
        rules = list(_ingress_rules_reaching(overlay, pod_labels(overlay, "varnish"), 8080, "http"))
        assert any(not rule.get("from") for _, rule in rules)

    @pytest.mark.parametrize("overlay", OVERLAYS)
    def test_datastore_egress_per_overlay(self, overlay: str) -> None:
        policy = get(overlay, "NetworkPolicy", "allow-datastores")
        for name in (*OURS,):
            assert selects(policy["spec"]["podSelector"], pod_labels(overlay, name)), name
        assert not selects(policy["spec"]["podSelector"], pod_labels(overlay, "varnish"))
        peers = [peer for rule in policy["spec"]["egress"] for peer in rule["to"]]
        if overlay == "dev":
            assert all("podSelector" in peer for peer in peers)
        else:
            assert all("ipBlock" in peer for peer in peers)


# --- monitoring (Prometheus Operator CRDs: no published schema here, so checked by hand) -----


class TestMonitoring:
    @pytest.mark.parametrize("overlay", OVERLAYS)
    def test_pod_monitors_cover_our_pods_and_the_exporter(self, overlay: str) -> None:
        monitors = objects(overlay, "PodMonitor")
        assert monitors
        for monitor in monitors:
            assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
            endpoints = monitor["spec"]["podMetricsEndpoints"]
            assert endpoints and all(e["port"] == "metrics" and e["path"] == "/metrics" for e in endpoints)
        for name in (*OURS, "varnish"):
            labels = pod_labels(overlay, name)
            assert any(selects(m["spec"]["selector"], labels) for m in monitors), name
            ports = {p["name"] for c in get(overlay, "Deployment", name)["spec"]["template"]["spec"]["containers"]
                     for p in c.get("ports", [])}
            assert "metrics" in ports, name

    @pytest.mark.parametrize("overlay", OVERLAYS)
    def test_rules_are_well_formed(self, overlay: str) -> None:
        (rule_object,) = objects(overlay, "PrometheusRule")
        assert rule_object["apiVersion"] == "monitoring.coreos.com/v1"
        rules = [rule for group in rule_object["spec"]["groups"] for rule in group["rules"]]
        names = [rule["alert"] for rule in rules]
        assert len(names) == len(set(names))
        for rule in rules:
            assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
            assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["alert"]
            assert rule["labels"]["severity"] in SEVERITIES, rule["alert"]
            annotations = rule["annotations"]
            assert annotations["summary"] and annotations["description"], rule["alert"]
            assert re.fullmatch(r"docs/operations\.md#[a-z0-9-]+", annotations["runbook_url"]), rule["alert"]
        for required in ("WheelhouseOriginDown", "WheelhouseServiceUnavailable", "WheelhouseHighErrorRate",
                         "WheelhouseHighLatency", "WheelhouseConsumerLag", "WheelhouseOutboxBacklog",
                         "WheelhouseEdgeHitRatioLow", "WheelhouseDeadLetters", "WheelhouseDatabasePoolSaturated"):
            assert required in names
        by_name = {rule["alert"]: rule["expr"] for rule in rules}
        assert "varnish_backend_up" in by_name["WheelhouseOriginDown"]
        assert "varnish_backend_up" in by_name["WheelhouseEdgeHitRatioLow"]  # never on hit ratio alone
        assert "histogram_quantile(0.99" in by_name["WheelhouseHighLatency"]

    def _rules_dir(self, tmp_path: Path) -> Path:
        (rule_object,) = objects("prod", "PrometheusRule")
        (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": rule_object["spec"]["groups"]}))
        shutil.copy(K8S / "components" / "monitoring" / "tests" / "rules_test.yaml", tmp_path)
        return tmp_path

    def test_promtool_check_rules(self, tmp_path: Path) -> None:
        promtool = _tool("promtool", "prometheus")
        result = subprocess.run([promtool, "check", "rules", "rules.yaml"], cwd=self._rules_dir(tmp_path),
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr

    def test_promtool_test_rules(self, tmp_path: Path) -> None:
        """Origin down and consumer lag fire on synthetic series; the hit-ratio alert does not
        fire while the origin is down (stale serving), only when backends are healthy."""
        promtool = _tool("promtool", "prometheus")
        result = subprocess.run([promtool, "test", "rules", "rules_test.yaml"], cwd=self._rules_dir(tmp_path),
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
