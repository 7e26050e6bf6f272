"""Our OpenAI-shaped request as an Anthropic Messages request, keeping its meaning.

Where the formats differ:

- ``system`` and ``developer`` messages are joined into the top-level ``system`` text
  (Anthropic has no system turns); when they are the only messages they become the one
  user turn instead, since Anthropic rejects an empty ``messages`` list.
- An assistant's ``tool_calls`` become ``tool_use`` blocks (arguments parsed from their JSON
  string); ``tool`` messages become ``tool_result`` blocks in a user turn, consecutive
  results merged into one turn as Anthropic requires. Tool-call ids are kept, with any
  character Anthropic does not allow in an id replaced by ``_`` (the same way on both
  sides, so calls and results still pair).
- ``tools`` (function ``parameters`` -> ``input_schema``), ``tool_choice`` (``auto``,
  ``none``, ``required`` -> ``any``, a named function -> ``tool``) and
  ``parallel_tool_calls: false`` (-> ``disable_parallel_tool_use``).
- ``response_format`` ``json_object`` / ``json_schema`` are honoured through a forced tool:
  one tool whose input schema is the caller's schema (any object for JSON mode), which the
  model must call; its input comes back as the message's JSON text
  (:mod:`.anthropic_answers`). This is why a schema and the caller's own tools cannot be
  combined on Anthropic (the capability rule skips the deployment instead).
  A conversation that holds tool calls but declares no ``tools`` (Anthropic rejects tool
  blocks then) gets them as text instead: "Called tool f with arguments {...}".
- Consecutive turns of the same role are merged (Anthropic requires alternation); empty
  text is dropped (Anthropic rejects empty text blocks).
- Content parts become blocks: text, and ``image_url`` as a URL or base64 image source;
  parts with no Anthropic equivalent (audio, files) are dropped.
- ``max_tokens`` is required by Anthropic: the caller's (capped at the deployment's output
  limit) or ``min(deployment.max_output_tokens, 4096)``.
- ``temperature`` is clamped into Anthropic's 0..1 (OpenAI allows 0..2), so a caller's
  2.0 means "as random as this provider goes" rather than a 400 after a failover.
- ``stop`` becomes ``stop_sequences``; ``user`` becomes ``metadata.user_id``. Other OpenAI
  fields are not forwarded: Anthropic rejects fields it does not know.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import orjson

from shared.anthropic_parsing import ANTHROPIC_FIELDS
from shared.models import ChatMessage, ChatRequest

if TYPE_CHECKING:
    from orchestrator.routing.router import Deployment

DEFAULT_MAX_TOKENS_CAP: Final = 4096
TEMPERATURE_MAX: Final = 1.0
SYSTEM_ROLES: Final = frozenset({"system", "developer"})
JSON_MODE_TOOL: Final = "json_answer"
"""The forced tool's name in JSON mode (a JSON schema's own name is used for schemas)."""
_ID_NOT_ALLOWED: Final = re.compile(r"[^a-zA-Z0-9_-]")
_ANY_OBJECT: Final = {"type": "object"}
_NO_PARAMETERS: Final = {"type": "object", "properties": {}}


def request_body(request: ChatRequest, deployment: Deployment) -> dict[str, Any]:
    system, turns = conversation(request.messages, tool_blocks=bool(request.tools))
    body: dict[str, Any] = {
        "model": deployment.model,
        "max_tokens": max_tokens(request, deployment),
        "messages": turns,
    }
    if system:
        body["system"] = system
    if request.temperature is not None:
        body["temperature"] = min(request.temperature, TEMPERATURE_MAX)
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if request.stop:
        body["stop_sequences"] = list(request.stop)
    if request.tools or request.response_format is not None:
        _tool_fields(request, body)
    user = request.extra.get("user")
    if isinstance(user, str) and user:
        body["metadata"] = {"user_id": user}
    if request.stream:
        body["stream"] = True
    own = request.extra.get(ANTHROPIC_FIELDS)
    if own:  # what an Anthropic-API caller sent that has no OpenAI equivalent (thinking, ...)
        body.update(own)
    return body


def max_tokens(request: ChatRequest, deployment: Deployment) -> int:
    if request.max_tokens is None:
        return min(deployment.max_output_tokens, DEFAULT_MAX_TOKENS_CAP)
    return min(request.max_tokens, deployment.max_output_tokens)


def json_tool_name(request: ChatRequest) -> str | None:
    """The forced tool that carries a JSON answer, when the request asks for one."""
    response_format = request.response_format
    if response_format is None:
        return None
    kind = response_format.get("type")
    if kind == "json_object":
        return JSON_MODE_TOOL
    if kind == "json_schema":
        name: str = response_format["json_schema"]["name"]
        return name
    return None


def _tool_fields(request: ChatRequest, body: dict[str, Any]) -> None:
    forced = json_tool_name(request)
    if forced is not None:
        schema = request.response_format.get("json_schema", {}) if request.response_format else {}
        tool: dict[str, Any] = {
            "name": forced,
            "description": schema.get("description") or "Give the answer as this tool's input.",
            "input_schema": schema.get("schema") or _ANY_OBJECT,
        }
        body["tools"] = [tool]
        body["tool_choice"] = {"type": "tool", "name": forced}
        return
    if not request.tools:
        return
    body["tools"] = [_tool(t) for t in request.tools]
    choice = _tool_choice(request.tool_choice)
    if request.parallel_tool_calls is False and choice["type"] != "none":
        choice["disable_parallel_tool_use"] = True
    if request.tool_choice is not None or len(choice) > 1:
        body["tool_choice"] = choice


def _tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    function = tool["function"]
    out: dict[str, Any] = {
        "name": function["name"],
        "input_schema": function.get("parameters") or _NO_PARAMETERS,
    }
    if function.get("description"):
        out["description"] = function["description"]
    return out


def _tool_choice(choice: str | Mapping[str, Any] | None) -> dict[str, Any]:
    match choice:
        case None | "auto":
            return {"type": "auto"}
        case "none":
            return {"type": "none"}
        case "required":
            return {"type": "any"}
        case {"function": {"name": str(name)}}:
            return {"type": "tool", "name": name}
    return {"type": "auto"}


def tool_id(openai_id: str) -> str:
    """An OpenAI tool-call id as Anthropic accepts ids (``^[a-zA-Z0-9_-]+$``)."""
    return _ID_NOT_ALLOWED.sub("_", openai_id) or "call"


def conversation(
    messages: Sequence[ChatMessage], *, tool_blocks: bool = True
) -> tuple[str, list[dict[str, Any]]]:
    """The top-level ``system`` text and the alternating Anthropic turns; without
    ``tool_blocks``, tool calls and results are told as text."""
    system_parts: list[str] = []
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role in SYSTEM_ROLES:
            if message.text:
                system_parts.append(message.text)
            continue
        blocks = content_blocks(message) if tool_blocks else _without_tool_blocks(message)
        if not blocks:
            continue
        role = "assistant" if message.role == "assistant" else "user"
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    system = "\n\n".join(system_parts)
    if not turns and system:
        return "", [{"role": "user", "content": [_text_block(system)]}]
    return system, turns


def content_blocks(message: ChatMessage) -> list[dict[str, Any]]:
    if message.role == "tool":
        return [_tool_result(message)]
    if message.role == "function":  # the deprecated form has no call id to pair with
        return _text_blocks(f"Tool result ({message.name or 'function'}): {message.text}")
    content = message.content
    if content is None:
        blocks = []
    elif isinstance(content, str):
        blocks = _text_blocks(content)
    else:
        blocks = [block for part in content if (block := _part_block(part)) is not None]
    if message.role == "assistant":
        calls = message.extra.get("tool_calls")
        if isinstance(calls, list):
            blocks.extend(_tool_use(c) for c in calls if c.get("type", "function") == "function")
    return blocks


def _without_tool_blocks(message: ChatMessage) -> list[dict[str, Any]]:
    if message.role == "tool":
        label = message.extra.get("tool_call_id")
        return _text_blocks(f"Tool result ({label}): {message.text}")
    blocks = [b for b in content_blocks(message) if b["type"] != "tool_use"]
    calls = message.extra.get("tool_calls") if message.role == "assistant" else None
    if isinstance(calls, list):
        lines = (
            f"Called tool {c['function']['name']} with arguments {c['function']['arguments']}"
            for c in calls
            if c.get("type", "function") == "function"
        )
        blocks.extend(_text_blocks("\n".join(lines)))
    return blocks


def _tool_use(call: Mapping[str, Any]) -> dict[str, Any]:
    function = call["function"]
    return {
        "type": "tool_use",
        "id": tool_id(call["id"]),
        "name": function["name"],
        "input": _arguments(function["arguments"]),
    }


def _arguments(raw: str) -> Any:
    """A call's JSON-string arguments as the object Anthropic wants. Arguments that are
    not a JSON object (a model's broken JSON) are kept, as text, under ``_arguments``."""
    try:
        parsed = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError:
        return {"_arguments": raw}
    return parsed if isinstance(parsed, dict) else {"_arguments": raw}


def _tool_result(message: ChatMessage) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "tool_result",
        "tool_use_id": tool_id(str(message.extra.get("tool_call_id", ""))),
    }
    if message.text:
        block["content"] = message.text
    return block


def _text_block(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _text_blocks(text: str) -> list[dict[str, Any]]:
    return [_text_block(text)] if text else []


def _part_block(part: Mapping[str, Any]) -> dict[str, Any] | None:
    match part.get("type"):
        case "text":
            text = part.get("text")
            return _text_block(text) if isinstance(text, str) and text else None
        case "image_url":
            return _image_block(part.get("image_url"))
    return None


def _image_block(image_url: object) -> dict[str, Any] | None:
    url = image_url.get("url") if isinstance(image_url, dict) else image_url
    if not isinstance(url, str) or not url:
        return None
    if url.startswith("data:"):
        # data:<media type>;base64,<data>
        header, _, data = url[len("data:") :].partition(",")
        media_type, _, encoding = header.partition(";")
        if encoding != "base64" or not data:
            return None
        source = {"type": "base64", "media_type": media_type, "data": data}
        return {"type": "image", "source": source}
    return {"type": "image", "source": {"type": "url", "url": url}}
