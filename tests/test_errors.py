"""errors: the tree in the module docstring is the tree in the code, each class with its status."""

from __future__ import annotations

import inspect
import re

from proxy import errors


def _classes() -> dict[str, type[errors.ProxyError]]:
    return {
        name: value
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, errors.ProxyError)
    }


def test_the_docstring_draws_every_class_with_its_status() -> None:
    drawn = {
        name: int(status)
        for name, status in re.findall(r"^\s*[*x+]\s+(\w+)\s+(\d{3})", errors.__doc__ or "", re.M)
    }
    assert drawn == {name: cls.status for name, cls in _classes().items()}


def test_the_drawing_nests_as_the_classes_inherit() -> None:
    stack: list[tuple[int, str]] = []
    for indent, name in re.findall(r"^(\s*)[*x+]\s+(\w+)\s+\d{3}", errors.__doc__ or "", re.M):
        while stack and stack[-1][0] >= len(indent):
            stack.pop()
        if stack:
            assert issubclass(_classes()[name], _classes()[stack[-1][1]]), name
        stack.append((len(indent), name))


def test_every_error_is_one_line_for_a_person() -> None:
    error = errors.UpstreamStatus("fetch: upstream answered 404 Not Found (x)", 404)
    assert error.message == str(error) and "\n" not in error.message
    assert repr(error) == "UpstreamStatus('fetch: upstream answered 404 Not Found (x)')"
    assert errors.UpstreamBackoff("later", 30).retry_after == 30
    assert errors.UpstreamBackoff("later", 30).status == 503
