"""Fail-fast request checks, before any upstream call, with field-level errors.

CONTRACT (the app codes against it; implementation and tests to come):

    def validate_chat_request(body: bytes, router: Router) -> ChatRequest
        # parses with orjson and shared.models.parse_chat_request, then the route checks;
        # raises ValidationError

    @dataclass
    class ValidationError(Exception):
        status: int        # 400, 404 (model not routable), 413 (body too large)
        message: str
        param: str | None  # "messages[0].role"
        code: str | None   # "model_not_found", "invalid_type", "context_length_exceeded", ...
        error_type: str = "invalid_request_error"
"""
