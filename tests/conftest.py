"""Assertion rewriting for the shared scenario module, so its failures say what differed."""

import pytest

pytest.register_assert_rewrite("tests.scenarios")
