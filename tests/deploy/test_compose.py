"""docker-compose.yml, the Dockerfile and .dockerignore, checked without a Docker engine.

- The compose file validates with `docker compose config` (the plugin) or Debian's
  `docker-compose` (1.29, no daemon needed); one of them must be installed (scripts/test
  installs docker-compose): no tool is a failure, not a skip.
- The stack's rules (STYLE §12, issue 6) hold for the parsed file: health checks and
  `depends_on` conditions, one image, non-root, read-only, no capabilities, only the edge
  published, the upload service's grace period above its shutdown timeout.
- The Dockerfile is checked statically (the image cannot be built here), and every command
  the compose file and the image run is run here too, against the installed package:
  `wheelhouse ... --help` for the CLI, the module lookup for `python -m services.<svc>`.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.cli.stack import WORKERS
from shared.edge.varnish import SERVICES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

DATASTORES = {"postgres", "nats", "minio", "opensearch"}
ONE_SHOTS = {"migrate", "create-bucket"}
WHEELHOUSE_UID = 10001

# The local stack's entry points (services/cli/stack.py) are the image's: one process each.
SERVICE_COMMANDS = {svc: ["python", "-m", f"services.{svc}"] for svc in SERVICES}
WORKER_COMMANDS = {worker: ["wheelhouse", "worker", worker] for worker in WORKERS}
MIGRATE_COMMAND = ["wheelhouse", "db", "upgrade"]


# ---- reading the files -------------------------------------------------------------------

_VARIABLE = re.compile(r"\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\})")


def interpolate(value: Any) -> Any:
    """Compose's `${VAR:-default}` with every variable unset: the file's own defaults."""
    if isinstance(value, dict):
        return {key: interpolate(item) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, default = match.groups()
        if operator in ("-", ":-"):
            return default
        raise AssertionError(f"${{{name}}} has no default: `docker compose up` would need it set")

    return _VARIABLE.sub(replace, value)


def load_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())  # resolves the anchors and `<<` merges


COMPOSE_RAW = load_compose()
COMPOSE = interpolate(COMPOSE_RAW)
SERVICES_CFG: dict[str, dict[str, Any]] = COMPOSE["services"]


def wheelhouse_image() -> str:
    return COMPOSE_RAW["x-wheelhouse"]["image"]


def wheelhouse_containers() -> dict[str, dict[str, Any]]:
    image = interpolate(wheelhouse_image())
    return {name: svc for name, svc in SERVICES_CFG.items() if svc.get("image") == image}


def long_running() -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in wheelhouse_containers().items() if name not in ONE_SHOTS}


def command_of(svc: dict[str, Any]) -> list[str]:
    command = svc.get("command")
    return shlex.split(command) if isinstance(command, str) else list(command or [])


def env_of(svc: dict[str, Any]) -> dict[str, str]:
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def seconds(duration: str | int | float) -> float:
    """A compose duration (`630s`, `10m30s`, `1h`) in seconds."""
    if isinstance(duration, (int, float)):
        return float(duration)
    units = {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)(us|ms|s|m|h)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, f"not a duration: {duration!r}"
    return sum(float(n) * units[u] for n, u in parts)


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    logical, current = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        logical.append(current + stripped)
        current = ""
    assert not current, "the Dockerfile ends inside a continued line"
    pairs = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        pairs.append((keyword.upper(), rest.strip()))
    return pairs


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for keyword, rest in dockerfile_instructions():
        if keyword == "FROM":
            result.append([])
        assert result, f"{keyword} before the first FROM"
        result[-1].append((keyword, rest))
    return result


def dockerignore_excludes(path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    patterns = []
    for line in DOCKERIGNORE.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line[1:] if negate else line
        patterns.append((negate, pattern.strip("/")))
    parts = path.strip("/").split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for negate, pattern in patterns:
        if any(_ignore_match(pattern, candidate) for candidate in candidates):
            excluded = not negate
    return excluded


def _ignore_match(pattern: str, path: str) -> bool:
    if pattern.startswith("**/"):
        rest = pattern[3:]
        segments = path.split("/")
        return any(_ignore_match(rest, "/".join(segments[i:])) for i in range(len(segments)))
    pattern_parts, path_parts = pattern.split("/"), path.split("/")
    return len(pattern_parts) == len(path_parts) and all(
        fnmatchcase(segment, glob) for segment, glob in zip(path_parts, pattern_parts)
    )


# ---- the compose file validates ------------------------------------------------------------


def compose_tool() -> list[str]:
    """`docker compose` if the plugin works, else Debian's `docker-compose`; fails without either."""
    candidates = []
    if shutil.which("docker"):
        candidates.append(["docker", "compose"])
    if shutil.which("docker-compose"):
        candidates.append(["docker-compose"])
    for tool in candidates:
        probe = subprocess.run([*tool, "version"], capture_output=True, text=True, timeout=60)
        if probe.returncode == 0:
            return tool
    pytest.fail("neither `docker compose` nor `docker-compose` works: scripts/test installs "
                "Debian's docker-compose (apt-get install docker-compose)")


def run_compose_config(compose_file: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("WHEELHOUSE_", "POSTGRES_", "MINIO_", "VARNISH_", "COMPOSE_"))}
    return subprocess.run([*compose_tool(), "-f", str(compose_file), "config", "-q"], cwd=compose_file.parent,
                          env=env, capture_output=True, text=True, timeout=120)


def test_compose_file_validates() -> None:
    result = run_compose_config(COMPOSE_FILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_validator_rejects_a_bad_depends_on_condition(tmp_path: Path) -> None:
    # The rules below lean on the conditions; make sure the tool in use checks them at all.
    broken = COMPOSE_FILE.read_text().replace("service_completed_successfully", "service_finished", 1)
    (tmp_path / "docker-compose.yml").write_text(broken)
    (tmp_path / "deploy" / "varnish").mkdir(parents=True)
    result = run_compose_config(tmp_path / "docker-compose.yml")
    assert result.returncode != 0, "the compose tool accepted an unknown depends_on condition"


def test_compose_specification_without_version_key() -> None:
    assert "version" not in COMPOSE_RAW


# ---- the stack's rules ------------------------------------------------------------------------


def test_the_stack_has_every_part() -> None:
    expected = DATASTORES | ONE_SHOTS | set(SERVICES) | set(WORKERS) | {"varnish"}
    assert set(SERVICES_CFG) == expected
    assert set(wheelhouse_containers()) == {"migrate", *SERVICES, *WORKERS}


@pytest.mark.parametrize("name", sorted(DATASTORES))
def test_datastores_have_health_checks(name: str) -> None:
    check = SERVICES_CFG[name].get("healthcheck") or {}
    assert check.get("test") and check["test"] != ["NONE"] and not check.get("disable"), name


def test_every_wheelhouse_process_waits_for_migrations_and_healthy_datastores() -> None:
    for name, svc in long_running().items():
        depends = svc.get("depends_on")
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions (the long form)"
        assert depends.get("migrate", {}).get("condition") == "service_completed_successfully", name
        assert depends.get("create-bucket", {}).get("condition") == "service_completed_successfully", name
        for store in DATASTORES:
            assert depends.get(store, {}).get("condition") == "service_healthy", f"{name} -> {store}"


def test_one_shots_run_once_after_their_datastore() -> None:
    migrate, bucket = SERVICES_CFG["migrate"], SERVICES_CFG["create-bucket"]
    assert command_of(migrate) == MIGRATE_COMMAND
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert bucket["depends_on"]["minio"]["condition"] == "service_healthy"
    for svc in (migrate, bucket):
        assert svc.get("restart", "no") == "no"
    bucket_name = env_of(SERVICES_CFG["upload"])["WHEELHOUSE_STORAGE_URL"].removeprefix("s3://")
    assert command_of(bucket)[-1].endswith(f"/{bucket_name}")


def test_only_the_edge_is_published() -> None:
    published = {name for name, svc in SERVICES_CFG.items() if svc.get("ports")}
    assert published == {"varnish"}
    assert [str(port).rsplit(":", 1)[-1] for port in SERVICES_CFG["varnish"]["ports"]] == ["8080"]
    assert not any(svc.get("network_mode") == "host" for svc in SERVICES_CFG.values())


def test_wheelhouse_containers_share_one_image_and_run_locked_down() -> None:
    image = wheelhouse_image()
    assert image == "wheelhouse:${WHEELHOUSE_TAG:-latest}"
    containers = wheelhouse_containers()
    assert any(svc.get("build") in (".", {"context": "."}) for svc in containers.values()), "nothing builds it"
    for name, svc in containers.items():
        user = str(svc.get("user", ""))
        uid, _, gid = user.partition(":")
        assert uid == str(WHEELHOUSE_UID) and gid in ("", str(WHEELHOUSE_UID)), f"{name}: user {user!r}"
        assert svc.get("read_only") is True, name
        assert "/tmp" in (svc.get("tmpfs") or []), f"{name}: /tmp must be writable (tmpfs)"
        assert "ALL" in (svc.get("cap_drop") or []), name
        assert "no-new-privileges:true" in (svc.get("security_opt") or []), name
        assert not svc.get("privileged"), name


def test_commands_are_the_contract_entry_points() -> None:
    containers = wheelhouse_containers()
    for svc, command in SERVICE_COMMANDS.items():
        assert command_of(containers[svc]) == command
    for worker, command in WORKER_COMMANDS.items():
        assert command_of(containers[worker]) == command


def _health_code(svc: dict[str, Any]) -> str:
    test = svc["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"], test
    compile(test[3], "<healthcheck>", "exec")  # python -c runs it: it must at least parse
    return test[3]


def test_services_are_healthy_when_ready_and_workers_when_serving_metrics() -> None:
    for svc in SERVICES:
        assert "http://127.0.0.1:8000/readyz" in _health_code(SERVICES_CFG[svc]), svc
    for worker in WORKERS:
        assert "http://127.0.0.1:9100/metrics" in _health_code(SERVICES_CFG[worker]), worker


def test_grace_periods_outlast_the_shutdown_timeouts() -> None:
    for name, svc in long_running().items():
        env = env_of(svc)
        needed = float(env.get("WHEELHOUSE_SHUTDOWN_TIMEOUT", 25)) + float(env.get("WHEELHOUSE_SHUTDOWN_DRAIN", 0))
        grace = seconds(svc.get("stop_grace_period", "10s"))
        assert grace > needed, f"{name}: stop_grace_period {grace:g}s <= {needed:g}s of shutdown"
    assert float(env_of(SERVICES_CFG["upload"])["WHEELHOUSE_SHUTDOWN_TIMEOUT"]) == 600


def test_settings_follow_the_contract() -> None:
    for name, svc in wheelhouse_containers().items():
        env = env_of(svc)
        assert env["WHEELHOUSE_BUS"] == "nats", name
        assert env["WHEELHOUSE_STORAGE_URL"] == "s3://wheelhouse", name
        assert env["WHEELHOUSE_METRICS_PORT"] == "9100" and env["WHEELHOUSE_METRICS_HOST"] == "0.0.0.0", name
        assert env["WHEELHOUSE_LOG_FORMAT"] == "json", name
        assert env["WHEELHOUSE_PORT"] == "8000", name
        assert json.loads(env["WHEELHOUSE_EDGE_PURGE_URLS"]) == ["http://varnish:8081"], name
        assert env["WHEELHOUSE_DATABASE_URL"].startswith("postgresql+asyncpg://"), name
        assert len(env["WHEELHOUSE_SECRET_KEY"]) >= 32, name
    raw_env = COMPOSE_RAW["x-wheelhouse-env"]
    # The key and the environment come from the operator's environment when set.
    assert raw_env["WHEELHOUSE_SECRET_KEY"].startswith("${WHEELHOUSE_SECRET_KEY:-")
    assert raw_env["WHEELHOUSE_ENVIRONMENT"].startswith("${WHEELHOUSE_ENVIRONMENT:-")


@pytest.mark.parametrize("environment", ["development", "production"])
def test_the_settings_classes_accept_the_compose_environment(environment: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from shared import config

    classes = [cls for cls in vars(config).values()
               if isinstance(cls, type) and issubclass(cls, config.SharedSettings)]
    known = set().union(*(cls.model_fields for cls in classes))
    for name, svc in wheelhouse_containers().items():
        for key in [key for key in os.environ if key.startswith("WHEELHOUSE_")]:
            monkeypatch.delenv(key)
        env = {**env_of(svc), "WHEELHOUSE_ENVIRONMENT": environment}
        for key, value in env.items():
            monkeypatch.setenv(key, value)
            if key.startswith("WHEELHOUSE_"):
                field = key.removeprefix("WHEELHOUSE_").lower()
                assert field in known, f"{name}: {key} is no setting"
        settings = config.ServeSettings()
        assert settings.database_url == env["WHEELHOUSE_DATABASE_URL"]
        assert settings.edge_purge_urls == ["http://varnish:8081"]


def test_varnish_runs_the_edge_vcl_on_the_contract_sockets() -> None:
    varnish = SERVICES_CFG["varnish"]
    assert varnish["image"].startswith("varnish:7.")
    command = command_of(varnish)
    assert command[0] == "varnishd", "a full command, or the image's entrypoint adds its own -a http=:80"
    assert "-F" in command
    assert command[command.index("-f") + 1] == "/etc/varnish/default.vcl"
    listens = [command[i + 1] for i, arg in enumerate(command) if arg == "-a"]
    assert listens == ["http=:8080,HTTP", "purge=:8081,HTTP"]
    assert any(arg.startswith("malloc,") for arg in command)
    mounts = {volume.split(":")[1]: volume for volume in varnish["volumes"]}
    for vcl in ("default.vcl", "backends.vcl"):
        source, _, mode = mounts[f"/etc/varnish/{vcl}"].partition(f":/etc/varnish/{vcl}")
        assert source == f"./deploy/varnish/{vcl}" and mode == ":ro"
        assert (ROOT / source).is_file()
    for svc in SERVICES:
        assert varnish["depends_on"][svc]["condition"] == "service_healthy"
    assert "varnish" in SERVICES_CFG["purger"]["depends_on"]


def test_backends_vcl_names_the_compose_services() -> None:
    vcl = (ROOT / "deploy" / "varnish" / "backends.vcl").read_text()
    backends = dict(re.findall(r'\.host\s*=\s*"([^"]+)";\s*\.port\s*=\s*"(\d+)"', vcl))
    assert set(backends) == set(SERVICES)
    for host, port in backends.items():
        assert host in SERVICES_CFG and port == env_of(SERVICES_CFG[host])["WHEELHOUSE_PORT"]


# ---- the Dockerfile ------------------------------------------------------------------------------


def test_dockerfile_is_multi_stage_with_a_slim_runtime() -> None:
    all_stages = stages()
    assert len(all_stages) >= 2, "a builder stage and a runtime stage"
    base = all_stages[-1][0][1].split()[0]
    assert re.fullmatch(r"python:3\.11-slim(-[a-z]+)?", base), base
    final_keywords = {keyword for keyword, _ in all_stages[-1]}
    assert "COPY" in final_keywords
    runtime_copies = [rest for keyword, rest in all_stages[-1] if keyword == "COPY"]
    assert all(rest.startswith("--from=") for rest in runtime_copies), "the runtime takes only the built venv"


def test_dockerfile_runtime_runs_as_a_numeric_non_root_user() -> None:
    users = [rest for keyword, rest in stages()[-1] if keyword == "USER"]
    assert users, "the final stage must set USER"
    uid, _, gid = users[-1].partition(":")
    assert uid == str(WHEELHOUSE_UID) and gid in ("", str(WHEELHOUSE_UID)), users[-1]


def test_dockerfile_has_no_remote_add_and_no_compilers_at_run_time() -> None:
    for keyword, rest in dockerfile_instructions():
        if keyword == "ADD":
            assert not re.search(r"(https?|git)://|git@", rest), f"ADD of a remote source: {rest}"
    for keyword, rest in stages()[-1]:
        if keyword == "RUN":
            assert not re.search(r"\b(build-essential|gcc|g\+\+|clang|make)\b", rest), rest
            assert "pip install" not in rest or "--no-cache-dir" in rest, rest


def test_dockerfile_runtime_settings() -> None:
    final = stages()[-1]
    env = " ".join(rest for keyword, rest in final if keyword == "ENV")
    for setting in ("PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1", "WHEELHOUSE_DATA_DIR=/data"):
        assert setting in env
    assert [rest for keyword, rest in final if keyword == "WORKDIR"][-1] == "/app"
    assert set(" ".join(rest for keyword, rest in final if keyword == "EXPOSE").split()) == {"8000", "9100"}
    assert "/data" in " ".join(rest for keyword, rest in final if keyword == "VOLUME")
    labels = " ".join(rest for keyword, rest in final if keyword == "LABEL")
    assert "org.opencontainers.image.title" in labels and "org.opencontainers.image.licenses" in labels
    cmd = [rest for keyword, rest in final if keyword == "CMD"]
    assert json.loads(cmd[-1]) == ["wheelhouse", "serve", "--host", "0.0.0.0"]
    builder_runs = " ".join(rest for stage in stages()[:-1] for keyword, rest in stage if keyword == "RUN")
    assert "pip install" in builder_runs and "--no-cache-dir" in builder_runs


def test_dockerignore_keeps_the_context_to_the_package() -> None:
    for path in (".git", ".venv", "tests", "data", "bench", "docs", "deploy", "wheelhouse.egg-info",
                 "shared/__pycache__/config.cpython-311.pyc", "data/secret_key"):
        assert dockerignore_excludes(path), f"{path} would be sent to the builder"
    for path in ("pyproject.toml", "README.md", "services/upload/__main__.py", "shared/migrations/env.py"):
        assert not dockerignore_excludes(path), f"{path} is needed by the build"
    for keyword, rest in dockerfile_instructions():
        if keyword == "COPY" and not rest.startswith("--from="):
            for source in rest.split()[:-1]:
                assert (ROOT / source).exists() and not dockerignore_excludes(source), source


# ---- the entry points the image runs, run here -----------------------------------------------------


def image_commands() -> dict[str, list[str]]:
    commands = {f"compose:{name}": command_of(svc) for name, svc in wheelhouse_containers().items()}
    commands["Dockerfile:CMD"] = json.loads([rest for keyword, rest in stages()[-1] if keyword == "CMD"][-1])
    return commands


def _clean_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if key != "PYTHONPATH" and not key.startswith("WHEELHOUSE_")}
    return env


@pytest.mark.parametrize(("where", "command"), sorted(image_commands().items()))
def test_entry_point_resolves_in_the_installed_package(where: str, command: list[str], tmp_path: Path) -> None:
    # From an empty directory, as in the image's /app: the installed package, not the checkout.
    if command[0] == "wheelhouse":
        binary = Path(sys.executable).with_name("wheelhouse")
        assert binary.exists(), f"no wheelhouse console script next to {sys.executable}"
        result = subprocess.run([str(binary), *command[1:], "--help"], cwd=tmp_path, env=_clean_env(),
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0 and "usage:" in result.stdout, result.stderr
    elif command[:2] == ["python", "-m"]:
        module = command[2]
        probe = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module + '.__main__'!r}) is None)"
        result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=_clean_env(),
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, f"{module} has no __main__: {result.stderr}"
    else:
        pytest.fail(f"{where}: {command} is neither `wheelhouse ...` nor `python -m ...`")
