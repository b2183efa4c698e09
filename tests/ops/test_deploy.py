"""deploy/: every manifest parses, and carries what the daemon needs (settings that exist,
probes on the daemon's endpoints and port, the routes volume shared with git-sync, writable
state, a locked-down container)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.settings import DaemonSettings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "kubernetes"
SETTINGS = {f"RECONCILER_{name.upper()}" for name in DaemonSettings.model_fields}
DEFAULT_PORT = DaemonSettings.model_fields["http_port"].default


def _documents() -> dict[Path, list[Any]]:
    out: dict[Path, list[Any]] = {}
    for path in sorted(DEPLOY.rglob("*")):
        if path.suffix in (".yaml", ".yml"):
            out[path] = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        elif path.suffix == ".json":
            out[path] = [json.loads(path.read_text())]
    return out


def _k8s(kind: str) -> dict[str, Any]:
    (doc,) = [d for docs in _documents().values() for d in docs if d.get("kind") == kind]
    return doc


def _env_names_valid(names: list[str]) -> None:
    for name in names:
        assert name.startswith("AWS_") or name in SETTINGS, f"{name} is not a daemon setting"


def test_every_manifest_parses() -> None:
    docs = _documents()
    assert {p.relative_to(DEPLOY).as_posix() for p in docs} >= {
        "kubernetes/deployment.yaml",
        "kubernetes/kustomization.yaml",
        "kubernetes/serviceaccount.yaml",
        "ecs/task-definition.json",
        "iam-policy.json",
    }
    assert all(docs.values())


# -- Kubernetes --------------------------------------------------------------------------


def _pod() -> dict[str, Any]:
    return _k8s("Deployment")["spec"]["template"]


def _container(name: str) -> dict[str, Any]:
    (container,) = [c for c in _pod()["spec"]["containers"] if c["name"] == name]
    return container


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", [])}


def test_one_replica_recreated_never_two() -> None:
    spec = _k8s("Deployment")["spec"]
    assert spec["replicas"] == 1 and spec["strategy"]["type"] == "Recreate"


def test_reconciler_container_settings_and_probes() -> None:
    reconciler = _container("reconciler")
    env = _env(reconciler)
    _env_names_valid(list(env))
    assert reconciler["image"] and reconciler.get("args", ["run"]) == ["run"]
    port = int(env.get("RECONCILER_HTTP_PORT", DEFAULT_PORT))
    assert env["RECONCILER_HTTP_HOST"] == "0.0.0.0", "probes come from outside the container"
    ports = {p["name"]: p["containerPort"] for p in reconciler["ports"]}
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = reconciler[probe]["httpGet"]
        assert get["path"] == path
        assert ports.get(get["port"], get["port"]) == port
    annotations = _pod()["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert (
        int(annotations["prometheus.io/port"]) == port
        and annotations["prometheus.io/path"] == "/metrics"
    )
    assert reconciler["resources"]["requests"] and reconciler["resources"]["limits"]["memory"]


def test_routes_come_from_the_git_sync_volume() -> None:
    reconciler, sync = _container("reconciler"), _container("git-sync")
    args = dict(a.removeprefix("--").split("=", 1) for a in sync["args"] if "=" in a)
    sync_mounts = {m["name"]: m["mountPath"] for m in sync["volumeMounts"]}
    mounts = {m["name"]: m for m in reconciler["volumeMounts"]}
    shared = [name for name, path in sync_mounts.items() if path == args["root"]]
    assert shared and shared[0] in mounts, "the reconciler must mount git-sync's root volume"
    root = mounts[shared[0]]["mountPath"]
    assert _env(reconciler)["RECONCILER_ROUTES_DIR"] == f"{root}/{args['link']}/routes"
    volumes = {v["name"]: v for v in _pod()["spec"]["volumes"]}
    assert "emptyDir" in volumes[shared[0]]
    (init,) = _pod()["spec"]["initContainers"]
    assert "--one-time" in init["args"] and init["image"] == sync["image"]


def test_state_and_tmp_are_writable_volumes() -> None:
    reconciler = _container("reconciler")
    mounts = {m["mountPath"]: m for m in reconciler["volumeMounts"]}
    state = _env(reconciler)["RECONCILER_STATE_DIR"]
    for path in (state, "/tmp"):
        assert path in mounts and not mounts[path].get("readOnly", False), path
    declared = {v["name"] for v in _pod()["spec"]["volumes"]}
    for container in [*_pod()["spec"]["containers"], *_pod()["spec"]["initContainers"]]:
        assert {m["name"] for m in container["volumeMounts"]} <= declared


def test_locked_down() -> None:
    pod = _pod()["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001  # the image's user
    for container in [*pod["containers"], *pod["initContainers"]]:
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True, container["name"]
        assert context["allowPrivilegeEscalation"] is False, container["name"]
        assert context["capabilities"]["drop"] == ["ALL"], container["name"]


def test_service_account_is_annotated_for_irsa() -> None:
    account = _k8s("ServiceAccount")
    assert re.match(
        r"^arn:aws:iam::\d{12}:role/.+$",
        account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
    )
    assert _pod()["spec"]["serviceAccountName"] == account["metadata"]["name"]


def test_service_and_service_monitor_agree() -> None:
    service, monitor = _k8s("Service"), _k8s("ServiceMonitor")
    ports = {p["name"]: p for p in service["spec"]["ports"]}
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in ports and endpoint["path"] == "/metrics"
    assert ports[endpoint["port"]]["targetPort"] == "http"
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )


def test_kustomization_lists_files_that_exist() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    for resource in kustomization["resources"]:
        assert (K8S / resource).is_file(), resource
    (image,) = kustomization["images"]
    assert _container("reconciler")["image"].split(":")[0] == image["name"]


# -- ECS ---------------------------------------------------------------------------------


def _task() -> dict[str, Any]:
    return json.loads((DEPLOY / "ecs/task-definition.json").read_text())


def test_ecs_task_definition() -> None:
    task = _task()
    assert re.match(r"^arn:aws:iam::\d{12}:role/.+$", task["taskRoleArn"])
    (container,) = task["containerDefinitions"]
    env = {e["name"]: e["value"] for e in container["environment"]}
    secrets = [s["name"] for s in container.get("secrets", [])]
    _env_names_valid([*env, *secrets])
    assert container["readonlyRootFilesystem"] is True
    assert container["user"].split(":")[0] not in ("0", "root")
    port = int(env.get("RECONCILER_HTTP_PORT", DEFAULT_PORT))
    assert [p["containerPort"] for p in container["portMappings"]] == [port]
    assert env["RECONCILER_HTTP_HOST"] == "0.0.0.0"
    assert container["logConfiguration"]["logDriver"] == "awslogs"
    mounts = {m["containerPath"]: m["sourceVolume"] for m in container["mountPoints"]}
    assert {env["RECONCILER_STATE_DIR"], "/tmp"} <= set(mounts)
    assert set(mounts.values()) <= {v["name"] for v in task["volumes"]}
    if "RECONCILER_GIT_URL" in [*env, *secrets]:
        assert env["RECONCILER_GIT_DIR"].startswith(env["RECONCILER_STATE_DIR"] + "/")
    health = container["healthCheck"]["command"]
    assert health[0] == "CMD" and health[1:3] == ["python", "-c"]


def test_ecs_health_check_is_the_image_health_check() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    (image_check,) = re.findall(r"^HEALTHCHECK .*\\\n\s+CMD (\[.*\])$", dockerfile, re.M)
    (container,) = _task()["containerDefinitions"]
    assert container["healthCheck"]["command"][1:] == json.loads(image_check)


def test_ecs_service_runs_one_task_never_two() -> None:
    service = json.loads((DEPLOY / "ecs/service.json").read_text())
    assert service["desiredCount"] == 1
    assert service["deploymentConfiguration"]["maximumPercent"] == 100


@pytest.mark.parametrize("path", sorted(p.name for p in K8S.glob("*.yaml")))
def test_yaml_has_no_anchors(path: str) -> None:
    # Older kustomize releases reject YAML anchors; the manifests repeat themselves instead.
    assert not re.search(r"[&*][A-Za-z]\w*\s*$", (K8S / path).read_text(), re.M)


# -- shutdown, namespace, service account token, network policy, git credentials ----------


def _seconds(value: str) -> float:
    return float(DaemonSettings(shutdown_timeout=value).shutdown_timeout)


SHUTDOWN_DEFAULT = float(DaemonSettings.model_fields["shutdown_timeout"].default)


def test_the_engines_wait_longer_than_the_daemon_finishes_a_pass() -> None:
    # SIGTERM -> the running pass may take RECONCILER_SHUTDOWN_TIMEOUT -> the engine kills.
    # Kill first and a batch is cut in half; a margin covers start-up of the stop itself.
    pod = _pod()["spec"]
    shutdown = _env(_container("reconciler")).get("RECONCILER_SHUTDOWN_TIMEOUT")
    limit = _seconds(shutdown) if shutdown else SHUTDOWN_DEFAULT
    assert pod["terminationGracePeriodSeconds"] >= limit + 15
    (container,) = _task()["containerDefinitions"]
    env = {e["name"]: e["value"] for e in container["environment"]}
    ecs_limit = _seconds(env["RECONCILER_SHUTDOWN_TIMEOUT"])
    assert container["stopTimeout"] <= 120  # Fargate's maximum
    assert container["stopTimeout"] >= ecs_limit + 15


def test_the_namespace_the_kustomization_names_is_a_resource() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    namespace = _k8s("Namespace")
    assert namespace["metadata"]["name"] == kustomization["namespace"]
    account = _k8s("ServiceAccount")["metadata"]["name"]
    # The IRSA trust policy subject the docs give: system:serviceaccount:NAMESPACE:ACCOUNT.
    doc = (REPO / "docs/operations.md").read_text()
    assert f"system:serviceaccount:{kustomization['namespace']}:{account}" in doc


def test_no_kubernetes_api_token_is_mounted() -> None:
    assert _k8s("ServiceAccount")["automountServiceAccountToken"] is False
    assert _pod()["spec"]["automountServiceAccountToken"] is False


def test_network_policy_admits_only_the_daemon_port_and_lets_out_dns_and_https() -> None:
    policy = _k8s("NetworkPolicy")["spec"]
    labels = _pod()["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= labels.items()
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    port = int(_env(_container("reconciler")).get("RECONCILER_HTTP_PORT", DEFAULT_PORT))
    (ingress,) = policy["ingress"]
    assert [p["port"] for p in ingress["ports"]] == [port]
    assert all(source for source in ingress["from"])  # never "from anywhere"
    egress_ports = {(p["protocol"], p["port"]) for rule in policy["egress"] for p in rule["ports"]}
    assert egress_ports == {("UDP", 53), ("TCP", 53), ("TCP", 443)}


def test_git_sync_has_credentials_from_a_secret_and_a_health_probe() -> None:
    pod = _pod()["spec"]
    secrets = {v["name"]: v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
    for sync in [_container("git-sync"), *pod["initContainers"]]:
        args = dict(a.removeprefix("--").split("=", 1) for a in sync["args"] if "=" in a)
        mounts = {m["mountPath"]: m["name"] for m in sync["volumeMounts"]}
        secret_dir = str(Path(args["password-file"]).parent)
        assert mounts[secret_dir] in secrets, sync["name"]
        env = {e["name"]: e for e in sync["env"]}
        assert env["GITSYNC_USERNAME"]["valueFrom"]["secretKeyRef"]["name"] in secrets.values()
        assert not any("@" in str(e.get("value", "")) for e in sync["env"])  # no URL creds
    sync = _container("git-sync")
    args = dict(a.removeprefix("--").split("=", 1) for a in sync["args"] if "=" in a)
    port = int(args["http-bind"].rsplit(":", 1)[1])
    ports = {p["name"]: p["containerPort"] for p in sync["ports"]}
    probe = sync["livenessProbe"]["httpGet"]
    assert ports[probe["port"]] == port and probe["path"] == "/"
    assert int(args["max-failures"]) > 0  # a remote that keeps failing restarts git-sync


def test_readiness_is_not_the_route_files() -> None:
    # The comment and the docs must not promise that a broken revision stops a rollout.
    deployment = (K8S / "deployment.yaml").read_text()
    assert "invalid route files or AWS errors do not" in deployment


def test_the_daemon_gets_an_api_token_in_both_examples() -> None:
    """Without a token every POST (suspend, resume, reconcile) is refused (docs/operations.md);
    both examples hand one over from a secret, never as a literal value."""
    reconciler = _container("reconciler")
    token_file = _env(reconciler)["RECONCILER_API_TOKEN_FILE"]
    mounts = {m["name"]: m for m in reconciler["volumeMounts"]}
    mounted = [m for m in mounts.values() if token_file.startswith(m["mountPath"] + "/")]
    assert len(mounted) == 1 and mounted[0].get("readOnly") is True
    volume = next(v for v in _pod()["spec"]["volumes"] if v["name"] == mounted[0]["name"])
    assert volume["secret"]["secretName"]
    from reconciler.settings import DaemonSettings

    assert "api_token_file" in DaemonSettings.model_fields
    ecs = _task()["containerDefinitions"][0]
    assert "RECONCILER_API_TOKEN" in {s["name"] for s in ecs["secrets"]}
    assert "RECONCILER_API_TOKEN" not in {e["name"] for e in ecs["environment"]}
