"""The compose stack is up, healthy and wired: the orchestrator reaches the mock by name."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.compose.stack import COMPOSE_CLI, REPO_ROOT, compose, run
from tests.scenarios.target import Target, chat_body

pytestmark = pytest.mark.compose


async def test_mock_provider_reports_healthy(target: Target) -> None:
    async with target.http.get(f"{target.mock_url}/health") as response:
        assert response.status == 200


async def test_orchestrator_reports_healthy_with_both_providers_configured(
    target: Target,
) -> None:
    health = await target.health()

    assert health["status"] == "ok"
    providers = {key.split("/", 1)[0] for key in health["deployments"]}
    assert providers == {"openai", "anthropic"}


async def test_orchestrator_answers_through_the_mock_provider_container(target: Target) -> None:
    status, body, headers = await target.chat(
        chat_body(), headers={"X-Request-ID": "compose-smoke-1"}
    )

    assert status == 200, body
    assert body["content"]
    assert headers["X-Request-ID"] == "compose-smoke-1"
    # The mock container saw the call: the orchestrator found it by its service name.
    seen = await target.mock_log(request_id="compose-smoke-1")
    assert [entry["status"] for entry in seen] == [200]


async def test_an_app_container_reaches_the_orchestrator_by_its_service_name() -> None:
    # What the apps that use it do: call http://orchestrator:8080 from the compose network.
    script = (
        "import json, urllib.request\n"
        "body = json.dumps({'model': 'gpt-4', 'messages': [{'role': 'user', 'content': 'hi'}]})\n"
        "request = urllib.request.Request('http://orchestrator:8080/v1/chat/completions',"
        " body.encode(), {'Content-Type': 'application/json'})\n"
        "print(json.load(urllib.request.urlopen(request, timeout=20))['provider'])\n"
    )
    out = await compose(
        "run", "--rm", "--no-deps", "--entrypoint", "/opt/venv/bin/python", "mock-provider",
        "-c", script,
    )  # fmt: skip
    assert out.strip().splitlines()[-1] == "openai"


def test_the_compose_file_passes_the_admin_token_and_caller_keys_through() -> None:
    env = {
        **os.environ,
        "COMPOSE_FILE": "docker-compose.yml",
        "ORCH_ADMIN_TOKEN": "adm-from-the-host",
        "ORCH_CALLER_KEYS": "team:sk-from-the-host-0123456789",
    }
    rendered = subprocess.run(
        [str(COMPOSE_CLI), "config"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=REPO_ROOT,
    ).stdout
    assert "adm-from-the-host" in rendered
    assert "team:sk-from-the-host-0123456789" in rendered


async def test_the_orchestrator_image_s_health_check_probes_readiness() -> None:
    image = os.environ.get("ORCH_IMAGE", "llm-orchestrator:local")
    env = await run("docker", "image", "inspect", "-f", "{{json .Config.Env}}", image)
    assert "HEALTH_PATH=/health/ready" in env
