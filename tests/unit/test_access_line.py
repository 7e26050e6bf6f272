"""The access line: INFO for answers, WARNING for the 5xx we could not avoid."""

from __future__ import annotations

import logging

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from orchestrator.http.context import AccessLine


@pytest.mark.parametrize(("status", "level"), [(200, "INFO"), (429, "INFO"), (502, "WARNING")])
def test_a_request_that_ends_in_a_5xx_is_logged_at_warning(
    status: int, level: str, caplog: pytest.LogCaptureFixture
) -> None:
    logger = logging.getLogger("test.access")
    line = AccessLine(logger, "")
    response = web.Response(status=status, headers={"X-Request-ID": "req-1"})
    with caplog.at_level(logging.INFO, logger="test.access"):
        line.log(make_mocked_request("POST", "/v1/chat/completions"), response, 0.0001234)
    [record] = caplog.records
    assert record.levelname == level
    assert record.__dict__["status"] == status
    assert record.__dict__["duration_ms"] == 0.123  # sub-millisecond precision kept
