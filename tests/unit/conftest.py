"""Fixtures more than one unit test module uses."""

# The in-process streaming harness: the real app against a scripted provider.
from tests.unit.test_stream_app import make_stack  # noqa: F401
