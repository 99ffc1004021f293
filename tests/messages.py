"""Assert an error and its message: the helper of every bad-input test.

A bad-input test asserts the exception type and that the message names the argument, what was
expected and what was got; where a correct answer exists (integer, boolean and float32 data,
``(N,)`` targets for one output) the test asserts that answer instead.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest


def raises(error: type[Exception], call: Callable[[], object], *fragments: str) -> str:
    """Assert ``call()`` raises ``error`` whose message holds every fragment; return it."""
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message
