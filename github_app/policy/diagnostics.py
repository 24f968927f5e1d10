"""Policy file diagnostics people can act on: ``file:line:col: key: message``.

Pure functions over the policy text and pydantic's validation errors: each error is placed at
the line and column of the key it concerns (found in the YAML node tree), phrased in the terms
of a policy file rather than of the validation library ("must be a list", "unknown key; did
you mean 'required'?"), and rules that would do nothing are reported as warnings.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Diagnostic:
    """One finding in one policy file."""

    source: str
    line: int
    column: int
    key: str  # dotted path, e.g. ``approvals.required`` or ``paths[0].pattern``
    message: str
    severity: str = "error"

    def format(self) -> str:
        """``file:line:col: key: message`` (warnings say so)."""
        prefix = "warning: " if self.severity == "warning" else ""
        key = f"{self.key}: " if self.key else ""
        return f"{self.source}:{self.line}:{self.column}: {prefix}{key}{self.message}"


def dotted(path: Path) -> str:
    """``("paths", 0, "pattern")`` as ``paths[0].pattern``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


# --- where a key is in the text -----------------------------------------------------------


def _compose(text: str | None) -> yaml.Node | None:
    if not text:
        return None
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None


def _child(node: yaml.Node, part: str | int) -> tuple[yaml.Node, yaml.Node] | None:
    """(key node, value node) of ``part`` below ``node``; for sequences both are the item."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return key, value
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        item = node.value[part]
        return item, item
    return None


def locate(root: yaml.Node | None, path: Path) -> tuple[int, int]:
    """1-based line and column of the deepest key of ``path`` written in the file."""
    if root is None:
        return 1, 1
    mark = root.start_mark
    node = root
    for part in path:
        found = _child(node, part)
        if found is None:
            break
        key, node = found
        mark = key.start_mark
    return mark.line + 1, mark.column + 1


# --- which model a path points into ------------------------------------------------------


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, tuple, list):
        return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]
    return []


def model_at(root: type[BaseModel], path: Path) -> type[BaseModel] | None:
    """The model whose fields are the keys at ``path`` (indices and unions stepped through)."""
    model: type[BaseModel] | None = root
    for part in path:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part)
        models = _models_in(field.annotation) if field else []
        model = models[0] if models else None
    return model


# --- what the error means ----------------------------------------------------------------

_TYPE_WORDS = {
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be text",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
    "dict_type": "must be a mapping of settings",
    "model_type": "must be a mapping of settings",
    "model_attributes_type": "must be a mapping of settings",
    "missing": "is required",
}


def _unknown_key(key: str, model: type[BaseModel] | None) -> str:
    known = sorted(model.model_fields) if model else []
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"unknown key; did you mean {close[0]!r}?"
    return "unknown key" + (f" (allowed: {', '.join(known)})" if known else "")


def _phrase(error: Mapping[str, Any], model: type[BaseModel] | None) -> str:
    kind = error["type"]
    context = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return _unknown_key(str(error["loc"][-1]), model)
    if kind in _TYPE_WORDS:
        return _TYPE_WORDS[kind]
    if kind == "literal_error":
        expected = str(context.get("expected", ""))
        return f"must be one of {expected}" if " or " in expected else f"must be {expected}"
    if kind in ("greater_than_equal", "greater_than"):
        return f"must be at least {context.get('ge', context.get('gt'))}"
    if kind in ("less_than_equal", "less_than"):
        return f"must be at most {context.get('le', context.get('lt'))}"
    if kind == "string_pattern_mismatch":
        return f"must match {context.get('pattern', 'the form in the policy reference')}"
    if kind == "value_error":
        return str(context.get("error", error["msg"]))
    return str(error["msg"])


def _model_names(root: type[BaseModel], seen: set[str] | None = None) -> set[str]:
    seen = set() if seen is None else seen
    if root.__name__ not in seen:
        seen.add(root.__name__)
        for field in root.model_fields.values():
            for model in _models_in(field.annotation):
                _model_names(model, seen)
    return seen


def _clean_location(loc: Sequence[Any], root: type[BaseModel]) -> Path:
    # Unions and validators add their type names to the location (``ApprovalRequirement``,
    # ``function-after[...]``); a policy author never wrote those, so they are dropped.
    names = _model_names(root)
    return tuple(p for p in loc if isinstance(p, int) or (p not in names and "[" not in str(p)))


def from_validation_error(
    error: ValidationError, source: str, text: str | None, root: type[BaseModel]
) -> list[Diagnostic]:
    """One diagnostic per distinct problem, in file order."""
    tree = _compose(text)
    found: dict[tuple[str, str], Diagnostic] = {}
    for item in error.errors(include_url=False):
        path = _clean_location(item["loc"], root)
        parent = path[:-1] if item["type"] == "extra_forbidden" else path
        message = _phrase(item, model_at(root, parent))
        line, column = locate(tree, path)
        key = dotted(path) or "(top level)"
        found.setdefault((key, message), Diagnostic(source, line, column, key, message))
    return sorted(found.values(), key=lambda d: (d.line, d.column))


def from_yaml_error(error: yaml.YAMLError, source: str) -> Diagnostic:
    """A YAML syntax error at its position."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    if mark is None:
        return Diagnostic(source, 1, 1, "", f"invalid YAML: {problem}")
    return Diagnostic(source, mark.line + 1, mark.column + 1, "", f"invalid YAML: {problem}")


# --- rules that do nothing ---------------------------------------------------------------


def warnings_for(document: Mapping[str, Any], source: str, text: str | None) -> list[Diagnostic]:
    """Settings that are valid but have no effect, as written in ``document``."""
    tree = _compose(text)
    found = []
    rules = document.get("paths")
    for index, rule in enumerate(rules if isinstance(rules, list) else []):
        if isinstance(rule, Mapping) and set(rule) == {"pattern"}:
            line, column = locate(tree, ("paths", index))
            found.append(
                Diagnostic(
                    source,
                    line,
                    column,
                    dotted(("paths", index)),
                    "this rule only names a pattern and changes nothing: add `approvals`, "
                    "`agents_forbidden: true` or `agents_may_not_read: true`",
                    severity="warning",
                )
            )
    return found
