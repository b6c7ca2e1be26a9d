"""YAML loading that remembers where every value came from.

Admins edit ``config.yaml`` and the rulebook by hand, so every error must point at
``file:line``. The loader below is a :class:`yaml.SafeLoader` *subclass* (the global loader is
never touched) that builds :class:`LineDict` / :class:`LineList` containers carrying the line of
each key and item, rejects duplicate keys, and lets :func:`validation_errors` turn a pydantic
``ValidationError`` into ``file:line: path: message (did you mean ...?)`` lines.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from core.errors import OperatorError

M = TypeVar("M", bound=BaseModel)

__all__ = [
    "LineDict",
    "LineList",
    "RulebookError",
    "SourceError",
    "line_of",
    "load_yaml",
    "one_of",
    "parse_yaml",
    "validate",
    "validation_errors",
]


class SourceError(OperatorError):
    """One or more problems in a hand-edited file, each already formatted as ``file:line: ...``."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


class RulebookError(SourceError):
    """A rulebook file is invalid; the previous rulebook stays live."""


class LineDict(dict[str, Any]):
    """A mapping that knows its own line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]


class LineList(list[Any]):
    """A sequence that knows its own line and the line of each item (1-based)."""

    line: int = 0
    item_lines: list[int]


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            key = str(key)
        if key in result:
            raise yaml.MarkedYAMLError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r} (first at line {result.key_lines[key]})",
                key_node.start_mark,
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)

# libyaml parses a large rulebook several times faster, which the 1 s reload goal needs
# (docs/performance.md); the constructors above stay the same, so lines and duplicate-key
# errors are identical.
_FastLoader: type[yaml.SafeLoader] = _LineLoader
if getattr(yaml, "__with_libyaml__", False):

    class _CLineLoader(yaml.CSafeLoader):
        pass

    _CLineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
    _CLineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
    _FastLoader = _CLineLoader  # type: ignore[assignment]


def parse_yaml(text: str, *, filename: str) -> Any:
    """Parse YAML text; syntax errors become a :class:`SourceError` naming ``filename:line``."""
    try:
        return yaml.load(text, Loader=_FastLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        problem = exc.problem or exc.context or "invalid YAML"
        raise SourceError([f"{filename}:{line}: {problem}"]) from None
    except yaml.YAMLError as exc:
        raise SourceError([f"{filename}:0: invalid YAML: {exc}"]) from None


def load_yaml(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SourceError([f"{path}:0: cannot read file: {exc.strerror}"]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SourceError([f"{path}:{line}: file is not valid UTF-8 (save it as UTF-8)"]) from None
    return parse_yaml(text, filename=str(path))


def line_of(data: Any, loc: Iterable[int | str]) -> int:
    """The line of the deepest node along ``loc`` that carries a line."""
    line = getattr(data, "line", 0)
    node = data
    for part in loc:
        if isinstance(node, LineDict) and isinstance(part, str) and part in node:
            line = node.key_lines.get(part, line)
            node = node[part]
        elif isinstance(node, LineList) and isinstance(part, int) and 0 <= part < len(node):
            line = node.item_lines[part]
            node = node[part]
        else:
            break
    # The line of the key or item itself: a block mapping or list under a key starts on the
    # next line, but "unknown key 'x'" and "x: wrong type" are about the line naming x.
    return line


def _dotted(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def validation_errors(
    exc: ValidationError, data: Any, *, filename: str, model: type[BaseModel] | None = None
) -> list[str]:
    """Format pydantic errors as ``file:line: path: message``, with suggestions for typos."""
    problems = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            allowed = _allowed_fields(model, loc[:-1]) if model else []
            hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            message = f"unknown key {loc[-1]!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
            if allowed and not hint:
                message += f"; allowed keys: {', '.join(sorted(allowed))}"
        elif err["type"] == "literal_error" and isinstance(err.get("input"), str):
            choices = _literal_choices(model, loc) if model else ()
            if choices:
                value = err["input"]
                hint = difflib.get_close_matches(value, choices, n=1)
                message = (
                    f"unknown value {value!r}"
                    + (f" (did you mean {hint[0]!r}?)" if hint else "")
                    + f"; expected one of: {', '.join(choices)}"
                )
        problems.append(f"{filename}:{line_of(data, loc)}: {_dotted(loc)}: {message}")
    return problems


def _allowed_fields(model: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    """Walk the model's annotations along ``loc`` to list the keys allowed at that level."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(part)
        if field is None:
            return []
        current = _innermost_model(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or name for name, f in current.model_fields.items()]
    return []


def _literal_choices(model: type[BaseModel], loc: Sequence[int | str]) -> tuple[str, ...]:
    """The string values of the ``Literal`` the field at ``loc`` takes (empty if none)."""
    current: Any = model
    annotation: Any = None
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return ()
        if part == current.__name__ and part not in current.model_fields:
            continue  # pydantic names the union member it tried: `ticket.ExpectedTicket.priority`
        field = current.model_fields.get(part) or next(
            (f for f in current.model_fields.values() if f.alias == part), None
        )
        if field is None:
            return ()
        annotation = field.annotation
        current = _innermost_model(annotation)
    return _literals(annotation)


def _literals(annotation: Any) -> tuple[str, ...]:
    if get_origin(annotation) is Literal:
        return tuple(v for v in get_args(annotation) if isinstance(v, str))
    out: list[str] = []
    for arg in get_args(annotation):
        out.extend(v for v in _literals(arg) if v not in out)
    return tuple(out)


def _innermost_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _innermost_model(arg)
        if found is not None:
            return found
    return None


def one_of(names: Callable[[], Sequence[str]]) -> Callable[[Any], str]:
    """A pydantic validator for a closed set of names only known at run time (a registry).

    Its errors read as the ones :func:`validation_errors` gives for a ``Literal``.
    """

    def check(value: Any) -> str:
        known = tuple(names())
        if isinstance(value, str) and value in known:
            return value
        if isinstance(value, str):
            hint = difflib.get_close_matches(value, known, n=1)
            message = (
                f"unknown value {value!r}"
                + (f" (did you mean {hint[0]!r}?)" if hint else "")
                + f"; expected one of: {', '.join(known) or '(none registered)'}"
            )
        else:
            quoted = [repr(name) for name in known]
            message = "Input should be " + (
                f"{', '.join(quoted[:-1])} or {quoted[-1]}" if len(quoted) > 1 else "".join(quoted)
            )
        raise PydanticCustomError("unknown_value", message)

    return check


def validate(model: type[M], data: Any, *, filename: str, error: type[SourceError]) -> M:
    """Validate parsed YAML into ``model`` or raise ``error`` with every problem located."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(validation_errors(exc, data, filename=filename, model=model)) from None
