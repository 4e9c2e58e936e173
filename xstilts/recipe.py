"""Strict YAML recipes mapped onto typed dataclasses.

A recipe is a YAML file whose keys map 1:1 onto a tree of dataclasses. Defaults live only in the dataclasses; every
field carries a one-line help in its ``metadata["help"]``. Loading collects *every* problem (unknown key, wrong type,
impossible combination) with its key path and the valid keys, and raises them together as one ``RecipeError``: a
researcher fixing a recipe should not have to re-run once per typo.

Precedence: dataclass default < YAML file < ``key=value`` overrides on the command line (dotted paths, values parsed
as YAML scalars, so ``train.lr=2e-5`` is a float and ``lora=null`` is None).
"""
from __future__ import annotations

import dataclasses
import io
import os
import sys
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import yaml


class RecipeError(ValueError):
    """Every problem found in a recipe, reported at once."""

    def __init__(self, problems: list[str], source: str = "recipe"):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{len(problems)} problem(s) in {source}:\n{lines}")


def field(default: Any = dataclasses.MISSING, *, help: str, default_factory: Any = dataclasses.MISSING) -> Any:
    """A dataclass field with its one-line help (shown by ``describe``)."""
    kwargs: dict[str, Any] = {"metadata": {"help": help}}
    if default_factory is not dataclasses.MISSING:
        kwargs["default_factory"] = default_factory
    else:
        kwargs["default"] = default
    return dataclasses.field(**kwargs)


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp))
    if origin in (list, tuple):
        return f"list of {_type_name(get_args(tp)[0])}"
    if origin is dict:
        return f"mapping of {_type_name(get_args(tp)[1])}"
    if tp is type(None):
        return "null"
    if dataclasses.is_dataclass(tp):
        return "mapping"
    return getattr(tp, "__name__", str(tp))


def _convert(value: Any, tp: Any, path: str, problems: list[str]) -> Any:
    """Checks ``value`` against type ``tp`` and converts it; appends problems instead of raising."""
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            trial: list[str] = []
            out = _convert(value, arg, path, trial)
            if not trial:
                return out
        problems.append(f"{path}: expected {_type_name(tp)}, got {value!r}")
        return None
    if origin is Literal:
        if value not in get_args(tp):
            problems.append(f"{path}: {value!r} is not allowed; expected {_type_name(tp)}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, list):
            problems.append(f"{path}: expected {_type_name(tp)}, got {value!r}")
            return []
        (item_tp,) = get_args(tp)[:1]
        return [_convert(v, item_tp, f"{path}[{i}]", problems) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            problems.append(f"{path}: expected {_type_name(tp)}, got {value!r}")
            return {}
        _, val_tp = get_args(tp)
        return {str(k): _convert(v, val_tp, f"{path}.{k}", problems) for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            problems.append(f"{path}: expected a mapping with keys {sorted(_field_names(tp))}, got {value!r}")
            return None
        return _build(tp, value, path, problems)
    if tp is bool:
        if not isinstance(value, bool):
            problems.append(f"{path}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{path}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, str):
            # YAML 1.1 reads "1e-5" (no dot) as a string; researchers write learning rates that way.
            try:
                return float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{path}: expected a number, got {value!r}")
            return value
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            problems.append(f"{path}: expected a string, got {value!r}")
        return value
    return value


def _field_names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def _build(cls: type, data: dict, path: str, problems: list[str]) -> Any:
    hints = typing.get_type_hints(cls)
    names = _field_names(cls)
    kwargs: dict[str, Any] = {}
    before = len(problems)
    for key in data:
        if key not in names:
            where = f"{path}.{key}" if path else str(key)
            problems.append(f"{where}: unknown key; valid keys here: {', '.join(names)}")
    for f in dataclasses.fields(cls):
        where = f"{path}.{f.name}" if path else f.name
        if f.name in data:
            kwargs[f.name] = _convert(data[f.name], hints[f.name], where, problems)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            problems.append(f"{where}: required key is missing ({f.metadata.get('help', '')})")
    try:
        obj = cls(**kwargs)
    except TypeError:
        return None
    validate = getattr(obj, "validate", None)
    # Cross-field checks (messages relative to this object). They may meet wrongly typed values, which are already
    # reported above: a check that trips over one is skipped rather than masking the real problem.
    if callable(validate):
        try:
            found = validate()
        except (TypeError, ValueError, AttributeError, KeyError):
            found = [] if len(problems) > before else ["recipe could not be validated"]
        for problem in found:
            problems.append(f"{path + '.' if path else ''}{problem}")
    return obj


def _parse_override(item: str) -> tuple[list[str], Any]:
    if "=" not in item:
        raise RecipeError([f"override {item!r} is not of the form key=value (e.g. train.lr=2e-5)"], "command line")
    key, raw = item.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw != "" else ""
    except yaml.YAMLError:
        value = raw
    return key.strip().split("."), value


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Sets dotted ``key=value`` overrides into a nested mapping (a copy is returned)."""
    import copy

    out = copy.deepcopy(data)
    for item in overrides:
        keys, value = _parse_override(item)
        node = out
        for k in keys[:-1]:
            if not isinstance(node.get(k), dict):
                node[k] = {}
            node = node[k]
        node[keys[-1]] = value
    return out


def read_yaml(path: str | Path) -> dict:
    """Reads a YAML mapping safely (no arbitrary object construction), with a clear error."""
    p = Path(path)
    if not p.is_file():
        raise RecipeError([f"recipe file {p} does not exist; pass the path of a YAML recipe (see recipes/)"], str(p))
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RecipeError([f"invalid YAML: {exc}"], str(p)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RecipeError([f"the top level must be a mapping of keys, got {type(data).__name__}"], str(p))
    return data


def build(cls: type, data: dict, source: str = "recipe") -> Any:
    """Builds dataclass ``cls`` from a mapping, raising one ``RecipeError`` with every problem."""
    problems: list[str] = []
    obj = _build(cls, data, "", problems)
    if problems:
        raise RecipeError(problems, source)
    return obj


def load(cls: type, argv: list[str]) -> Any:
    """Loads a recipe from ``[RECIPE.yaml] [key=value ...]`` command-line arguments."""
    if argv and not argv[0].count("=") and argv[0] not in ("-h", "--help"):
        path, overrides = argv[0], argv[1:]
        data = read_yaml(path)
        source = path
    else:
        path, overrides, data, source = None, argv, {}, "command line"
    data = apply_overrides(data, overrides)
    return build(cls, data, source)


def to_dict(obj: Any) -> Any:
    """A recipe as plain mappings/lists (for YAML/JSON)."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, list):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def to_yaml(obj: Any) -> str:
    """The resolved recipe as YAML, keys in declaration order."""
    buf = io.StringIO()
    yaml.safe_dump(to_dict(obj), buf, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return buf.getvalue()


def describe(cls: type, prefix: str = "") -> list[str]:
    """One line per key: dotted path, type, default and help (the recipe reference in the README is made from it)."""
    hints = typing.get_type_hints(cls)
    lines = []
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        key = f"{prefix}{f.name}"
        inner = [a for a in get_args(tp) if dataclasses.is_dataclass(a)] or ([tp] if dataclasses.is_dataclass(tp) else [])
        if f.default is not dataclasses.MISSING:
            default = repr(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            made = f.default_factory()
            default = "{...}" if dataclasses.is_dataclass(made) else repr(made)
        else:
            default = "(required)"
        lines.append(f"{key}: {_type_name(tp)} = {default}  # {f.metadata.get('help', '')}")
        if inner:
            lines.extend(describe(inner[0], prefix=f"{key}."))
    return lines


def print_recipe(obj: Any, title: str, stream: Any = None) -> None:
    """Prints the resolved recipe at the start of a run (so logs carry every setting)."""
    if int(os.environ.get("RANK", "0")) != 0:
        return  # under a launcher, rank 0 prints it once
    stream = stream or sys.stdout
    print(f"# resolved {title} recipe", file=stream)
    print(to_yaml(obj), file=stream, flush=True)
