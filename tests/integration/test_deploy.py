"""The deployment files are valid: Compose accepts the file, every service the issue
names is there, and the image's entry point is the tickhub CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.conftest import service_unavailable

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def compose_command() -> list[str]:
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    if standalone:
        return [standalone]
    service_unavailable(
        "docker compose", "neither `docker compose` nor `docker-compose` is installed"
    )
    raise AssertionError("unreachable")


def compose_config(extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TICKHUB_", "POSTGRES_"))}
    return subprocess.run(
        [*compose_command(), "-f", str(DEPLOY / "docker-compose.yml"), "config"],
        capture_output=True,
        text=True,
        env={**env, **extra_env},
        cwd=DEPLOY,
        timeout=60,
    )


def test_compose_file_is_valid_and_has_every_service() -> None:
    result = compose_config({"TICKHUB_AUTH_SECRET_KEY": "a-long-random-test-value"})
    assert result.returncode == 0, result.stderr
    config = result.stdout
    for service in ("postgres:", "rabbitmq:", "migrate:", "tracker:", "writer-1:", "writer-2:",
                    "scanner:", "api:", "nginx:"):  # fmt: skip
        assert f"\n  {service}" in config, service
    assert "amqp://" in config
    assert "postgresql://" in config
    assert config.count("healthcheck:") >= 3


def test_compose_refuses_to_run_without_a_secret_key() -> None:
    result = compose_config({})
    assert result.returncode != 0
    assert "TICKHUB_AUTH_SECRET_KEY" in result.stderr


def test_dockerfile_runs_the_cli_as_an_unprivileged_user() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["tickhub"]' in text
    assert "USER tickhub" in text
    assert "HEALTHCHECK" in text
    example = (DEPLOY / ".env.example").read_text()
    for name in ("POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD", "RABBITMQ_HOST"):
        assert f"{name}=" in example


def test_nginx_proxies_the_websocket_stream() -> None:
    text = (DEPLOY / "nginx.conf").read_text()
    assert "location /v1/stream" in text
    assert "proxy_set_header Upgrade $http_upgrade" in text


def test_the_image_probes_the_port_of_the_service_it_runs() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("healthcheck", DEPLOY / "healthcheck.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tickhub = ["/usr/local/bin/python", "/usr/local/bin/tickhub"]
    env = {"TICKHUB_PORT": "8000", "TICKHUB_HEALTH_PORT": "8001"}
    for service in ("tracker", "writer", "scanner"):
        assert module.probe_url([*tickhub, service], env) == "http://127.0.0.1:8001/readyz"
    for service in ("api", "up"):
        assert module.probe_url([*tickhub, service], env) == "http://127.0.0.1:8000/readyz"
    assert module.probe_url([*tickhub, "db", "upgrade"], env) is None
    text = (DEPLOY / "Dockerfile").read_text()
    assert "8000/healthz" not in text
    assert "deploy/healthcheck.py" in text
