"""The deployment files are valid: Compose accepts the file, every service the issue
names is there, and the image's entry point is the tickhub CLI."""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

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


REQUIRED_SECRETS = (
    "TICKHUB_AUTH_SECRET_KEY",
    "POSTGRES_PASSWORD",
    "RABBITMQ_PASSWORD",
    "REDIS_PASSWORD",
)
SET = {name: f"test-value-of-{name.lower()}" for name in REQUIRED_SECRETS}


def test_compose_file_is_valid_and_has_every_service() -> None:
    result = compose_config(SET)
    assert result.returncode == 0, result.stderr
    config = result.stdout
    for service in ("postgres:", "rabbitmq:", "redis:", "migrate:", "tracker:", "writer-1:",
                    "writer-2:", "scanner:", "api:", "nginx:"):  # fmt: skip
        assert f"\n  {service}" in config, service
    assert "amqp://" in config
    assert "postgresql://" in config
    assert config.count("healthcheck:") >= 3


@pytest.mark.parametrize("missing", REQUIRED_SECRETS)
def test_compose_refuses_to_run_without_a_secret(missing: str) -> None:
    result = compose_config({k: v for k, v in SET.items() if k != missing})
    assert result.returncode != 0
    assert missing in result.stderr


def test_dockerfile_runs_the_cli_as_an_unprivileged_user() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["tickhub"]' in text
    assert "USER tickhub" in text
    assert "HEALTHCHECK" in text
    example = (DEPLOY / ".env.example").read_text()
    for name in ("POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD", "RABBITMQ_HOST"):
        assert f"{name}=" in example


# ------------------------------------------------------------------ read as files
# (Compose itself is not installed everywhere: these hold without it.)


def compose_file() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    return data


def default_of(value: str) -> str:
    """`${NAME:-default}` → default (what Compose makes of it when NAME is unset)."""
    return re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", value)


def test_compose_has_no_default_passwords() -> None:
    text = (DEPLOY / "docker-compose.yml").read_text()
    uses = re.findall(r"\$\{([A-Z0-9_]+)(:?[-?])?([^}]*)\}", text)
    secrets = [(n, op, rest) for n, op, rest in uses if re.search("PASSWORD|SECRET", n)]
    assert {n for n, _, _ in secrets} >= set(REQUIRED_SECRETS)
    for name, op, rest in secrets:
        if name in REQUIRED_SECRETS:
            assert op == ":?", f"${{{name}}} must be required (:?), not {op}{rest}"
        else:  # optional secrets (SMTP) may be empty, never a value
            assert op in {":?", ":-"} and (op == ":?" or rest == ""), name
    example = (DEPLOY / ".env.example").read_text()
    for name in REQUIRED_SECRETS:
        assert re.search(rf"^{name}=$", example, re.M), f"{name} has a value in .env.example"


def test_the_api_believes_forwarded_addresses_from_nginx_alone() -> None:
    services = compose_file()["services"]
    for name, service in services.items():
        env = service.get("environment") or {}
        assert "FORWARDED_ALLOW_IPS" not in env, name
    api_env = services["api"]["environment"]
    nginx_address = services["nginx"]["networks"]["edge"]["ipv4_address"]
    assert default_of(api_env["TICKHUB_GATEWAY_TRUSTED_PROXIES"]) == default_of(nginx_address)
    assert "edge" in services["api"]["networks"]
    subnet = compose_file()["networks"]["edge"]["ipam"]["config"][0]["subnet"]
    network = ipaddress.ip_network(default_of(subnet))
    assert ipaddress.ip_address(default_of(nginx_address)) in network
    nginx = (DEPLOY / "nginx.conf").read_text()
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in nginx
    assert "$proxy_add_x_forwarded_for" not in nginx


def test_compose_shares_the_rate_limits_through_redis() -> None:
    services = compose_file()["services"]
    assert "redis" in services
    assert "healthcheck" in services["redis"]
    url = services["api"]["environment"]["TICKHUB_REDIS_URL"]
    assert url.startswith("redis://") and url.endswith("@redis:6379/0")
    assert services["api"]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_nginx_upgrades_websockets_on_every_path_and_logs_no_tokens() -> None:
    text = (DEPLOY / "nginx.conf").read_text()
    server = text[text.index("server {") :]
    # At the server level, so every location (and any future WebSocket path) inherits it;
    # no location sets headers of its own (that would drop the inherited ones).
    head = server[: server.index("location")]
    assert "proxy_set_header Upgrade $http_upgrade;" in head
    assert "proxy_set_header Connection $connection_upgrade;" in head
    assert "proxy_set_header" not in server[server.index("location") :]
    for path in ("/v1/stream", "/v1/alerts/stream"):
        assert f"location = {path} {{" in text
    log_format = text[text.index("log_format") : text.index(";", text.index("log_format"))]
    for leaky in ("$request ", "$request_uri", "$args", "$query_string", "$uri", "$http_referer"):
        assert leaky not in log_format, leaky
    assert "access_log /var/log/nginx/access.log tickhub;" in text


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
