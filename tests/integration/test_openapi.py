"""GET /openapi.json describes every endpoint, and real answers validate against it.

Each response is checked against the schema at its exact place in the served document
(``paths -> method -> responses -> status -> content -> media type``), so an answer with a
status or a shape the document does not list fails here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from orchestrator.app import create_app
from orchestrator.config import default_config
from orchestrator.http.openapi import openapi_document
from tests.integration.observability_support import OPENAI_GPT4, orchestrator
from tests.scenarios.target import chat_body
from tests.support.services import RunningService

DOC_URI = "urn:orchestrator:openapi"
JSON = "application/json"
TOKEN = "adm-openapi-51c0"


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


class Contract:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self.registry: Registry[Any] = Registry().with_resource(DOC_URI, resource)

    def check(self, method: str, path: str, status: int, body: Any, media: str = JSON) -> None:
        responses = self.document["paths"][path][method]["responses"]
        assert str(status) in responses, f"{method.upper()} {path} -> {status} is not documented"
        assert media in responses[str(status)]["content"]
        pointer = "/".join(
            _escape(p)
            for p in ("paths", path, method, "responses", str(status), "content", media, "schema")
        )
        validator = Draft202012Validator({"$ref": f"{DOC_URI}#/{pointer}"}, registry=self.registry)
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
        assert not errors, f"{method.upper()} {path} -> {status}: {errors}"


class Client:
    """Calls one orchestrator and checks every answer against the contract."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str, contract: Contract) -> None:
        self.http = http
        self.base_url = base_url
        self.contract = contract

    async def call(
        self,
        method: str,
        path: str,
        documented_path: str | None = None,
        *,
        expect: int,
        **kwargs: Any,
    ) -> Any:
        async with self.http.request(method, f"{self.base_url}{path}", **kwargs) as response:
            assert response.status == expect, await response.text()
            assert response.headers["X-Request-ID"]
            media = response.content_type
            body: Any = await response.json() if media == JSON else await response.text()
        self.contract.check(method.lower(), documented_path or path, expect, body, media)
        return body


@pytest.fixture
def open_admin(mock_service: RunningService) -> Iterator[RunningService]:
    with orchestrator(
        mock_service, ORCH_ADMIN_TOKEN="", ORCH__ADMIN__ALLOW_UNAUTHENTICATED="true"
    ) as s:
        yield s


@pytest.fixture
async def http(mock_service: RunningService) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        await _reset(session, mock_service)
        yield session


async def _reset(http: aiohttp.ClientSession, mock: RunningService) -> None:
    async with http.post(f"{mock.base_url}/config/reset") as response:
        assert response.status == 200


async def _faults(http: aiohttp.ClientSession, mock: RunningService, plan: dict[str, Any]) -> None:
    async with http.post(f"{mock.base_url}/config/failures", json=plan) as response:
        assert response.status == 200, await response.text()


async def _contract(http: aiohttp.ClientSession, service: RunningService) -> Contract:
    async with http.get(f"{service.base_url}/openapi.json") as response:
        assert response.status == 200
        return Contract(await response.json())


async def test_document_is_openapi_3_1_with_valid_2020_12_schemas(
    open_admin: RunningService, http: aiohttp.ClientSession
) -> None:
    document = (await _contract(http, open_admin)).document
    assert document["openapi"].startswith("3.1")
    for schema in document["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)  # raises SchemaError naming the fault
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation["responses"], f"{method} {path} lists no responses"


async def test_every_route_the_app_serves_is_documented_and_nothing_else() -> None:
    app = create_app(default_config())
    served = set()
    for route in app.router.routes():
        if route.method == "HEAD":
            continue  # aiohttp adds HEAD to every GET
        canonical = route.resource.canonical if route.resource is not None else ""
        for action in ("open", "release", "reset"):
            served.add((route.method.lower(), canonical.replace("{action}", action)))
    document = openapi_document()
    documented = {(m, p) for p, ops in document["paths"].items() for m in ops}
    assert served == documented


async def test_chat_answers_match_the_document_for_every_status(
    open_admin: RunningService, http: aiohttp.ClientSession, mock_service: RunningService
) -> None:
    client = Client(http, open_admin.base_url, await _contract(http, open_admin))
    chat = "/v1/chat/completions"
    await client.call("POST", chat, json=chat_body(), expect=200)
    await client.call("POST", chat, json={"model": "gpt-4", "messages": []}, expect=400)
    await client.call("POST", chat, data=b"{not json", expect=400)
    await client.call("POST", chat, json=chat_body(model="gpt-9"), expect=404)
    too_big = chat_body(content="x" * 1_100_000)
    await client.call("POST", chat, json=too_big, expect=413)

    await _faults(http, mock_service, {"provider": "both", "script": ["content_policy"]})
    await client.call("POST", chat, json=chat_body(), expect=400)

    await _reset(http, mock_service)
    await _faults(
        http, mock_service, {"provider": "both", "fail_next": {"count": 6, "fault": "500"}}
    )
    failed = await client.call("POST", chat, json=chat_body(), expect=502)
    assert failed["attempt_log"]

    await _reset(http, mock_service)
    await _faults(
        http,
        mock_service,
        {"provider": "both", "faults": {"timeout": 1.0}, "timeout_duration_seconds": 5},
    )
    await client.call("POST", chat, json=chat_body(model="gpt-4o-mini"), expect=504)

    await _reset(http, mock_service)
    for deployment in ("openai/gpt-4o", "anthropic/claude-3-5-sonnet-20241022"):
        async with http.post(f"{open_admin.base_url}/v1/providers/{deployment}/open") as r:
            assert r.status == 200
    await client.call("POST", chat, json=chat_body(model="gpt-4o"), expect=503)


async def test_read_and_admin_answers_match_the_document(
    open_admin: RunningService, http: aiohttp.ClientSession
) -> None:
    client = Client(http, open_admin.base_url, await _contract(http, open_admin))
    await client.call(
        "POST",
        "/v1/chat/completions",
        json=chat_body(),
        headers={"X-Request-ID": "doc-1"},
        expect=200,
    )
    await client.call("GET", "/v1/requests/doc-1", "/v1/requests/{request_id}", expect=200)
    await client.call("GET", "/v1/requests/doc-0", "/v1/requests/{request_id}", expect=404)
    await client.call("GET", "/v1/models", expect=200)
    await client.call("GET", "/v1/models/gpt-4o", "/v1/models/{model}", expect=200)
    await client.call("GET", "/v1/models/gpt-9", "/v1/models/{model}", expect=404)
    await client.call("GET", "/v1/providers", expect=200)
    await client.call("GET", "/stats", expect=200)
    await client.call("GET", "/health", expect=200)
    await client.call("GET", "/health/ready", expect=200)
    await client.call("GET", "/metrics", expect=200)
    await client.call("GET", "/openapi.json", expect=200)
    for action in ("open", "release", "reset"):
        await client.call(
            "POST",
            f"/v1/providers/{OPENAI_GPT4}/{action}",
            f"/v1/providers/{{provider}}/{{model}}/{action}",
            expect=200,
        )
    await client.call(
        "POST",
        "/v1/providers/openai/gpt-9/open",
        "/v1/providers/{provider}/{model}/open",
        expect=404,
    )
    listing = await client.call("GET", "/v1/providers", expect=200)
    for entry in listing["data"]:
        await client.call(
            "POST",
            f"/v1/providers/{entry['deployment']}/open",
            "/v1/providers/{provider}/{model}/open",
            expect=200,
        )
    await client.call("GET", "/health/ready", expect=503)


async def test_refused_admin_actions_match_the_document(
    mock_service: RunningService, http: aiohttp.ClientSession
) -> None:
    documented = "/v1/providers/{provider}/{model}/reset"
    with orchestrator(mock_service, ORCH_ADMIN_TOKEN=TOKEN) as guarded:
        client = Client(http, guarded.base_url, await _contract(http, guarded))
        await client.call("POST", f"/v1/providers/{OPENAI_GPT4}/reset", documented, expect=401)
    with orchestrator(mock_service, ORCH_ADMIN_TOKEN="") as closed:
        client = Client(http, closed.base_url, await _contract(http, closed))
        await client.call("POST", f"/v1/providers/{OPENAI_GPT4}/reset", documented, expect=403)


async def test_messages_and_embeddings_answers_match_the_document(
    open_admin: RunningService, http: aiohttp.ClientSession, mock_service: RunningService
) -> None:
    client = Client(http, open_admin.base_url, await _contract(http, open_admin))
    messages, count, embeddings = "/v1/messages", "/v1/messages/count_tokens", "/v1/embeddings"
    hello = {"model": "gpt-4o", "max_tokens": 16, "messages": [{"role": "user", "content": "Hi"}]}
    for model in ("gpt-4o", "claude-3-5-sonnet-20241022"):  # translated, and whole
        await client.call("POST", messages, json={**hello, "model": model}, expect=200)
    await client.call("POST", messages, json={**hello, "max_tokens": 0}, expect=400)
    await client.call("POST", messages, json={**hello, "model": "claude-9"}, expect=404)
    huge = {**hello, "messages": [{"role": "user", "content": "x" * 1_100_000}]}
    await client.call("POST", messages, json=huge, expect=413)
    await client.call("POST", count, json=hello, expect=200)
    await client.call("POST", count, json={**hello, "messages": []}, expect=400)
    await client.call("POST", count, json={**hello, "model": "claude-9"}, expect=404)
    vectors = {"model": "text-embedding-3-small", "input": ["a", "b"]}
    await client.call("POST", embeddings, json=vectors, expect=200)
    await client.call("POST", embeddings, json={**vectors, "input": []}, expect=400)
    await client.call("POST", embeddings, json={**vectors, "model": "e-9"}, expect=404)

    await _faults(http, mock_service, {"provider": "both", "faults": {"500": 1.0}})
    await client.call("POST", messages, json=hello, expect=500)
    await client.call("POST", embeddings, json=vectors, expect=502)

    await _reset(http, mock_service)
    for deployment in (
        "openai/gpt-4o",
        "anthropic/claude-3-5-sonnet-20241022",
        "openai/text-embedding-3-small",
    ):
        async with http.post(f"{open_admin.base_url}/v1/providers/{deployment}/open") as r:
            assert r.status == 200
    await client.call("POST", messages, json=hello, expect=529)
    await client.call("POST", embeddings, json=vectors, expect=503)
