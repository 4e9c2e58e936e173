"""Strict YAML recipes mapped onto typed dataclasses.

A recipe is a YAML file whose keys map 1:1 onto a tree of dataclasses. Defaults live only in the dataclasses; every
field carries a one-line help in its ``metadata["help"]``. Loading collects *every* problem (unknown key, wrong type,
impossible combination) with its key path and the valid keys, and raises them together as one ``RecipeError``: a
researcher fixing a recipe should not have to re-run once per typo.

Precedence: dataclass default < YAML file < ``key=value`` overrides on the command line (dotted paths, values parsed
as YAML scalars, so ``train.lr=2e-5`` is a float and ``lora=null`` is None). A section that cannot be off (``train``,
``mlm``) given as null, or as an empty YAML mapping header, takes its defaults, as when it is absent.

Recipes are read strictly: a key given twice (PyYAML would silently keep the last), YAML anchors and aliases (the
shipped recipes use none; refusing them rules out "billion laughs" expansion), Python tags, nesting deeper than
``MAX_DEPTH``, files over ``MAX_RECIPE_BYTES`` and text that is not UTF-8 are all refused with a ``RecipeError``
naming the file and line. Every number is checked against the range its field declares (``ge``/``gt``/``le``/``lt``
in ``field``), and floats must be finite. Error messages quote at most ``MAX_SHOWN`` characters of any value.
"""
from __future__ import annotations

import dataclasses
import io
import math
import os
import sys
import types
import typing
import unicodedata
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

import yaml

from xstilts.errors import XstiltsError

MAX_SHOWN = 200  # characters of a value quoted in an error message (a pasted file must not flood the terminal)
MAX_DEPTH = 32  # nesting levels a recipe may use (the deepest shipped recipe uses 3); deeper YAML is refused
MAX_PROBLEMS_SHOWN = 30  # a recipe with more problems is the wrong file; the first ones say so
MAX_RECIPE_BYTES = 1_000_000  # recipes are short hand-written files; anything larger is a wrong path

T = TypeVar("T")


class RecipeError(XstiltsError, ValueError):
    """Every problem found in a recipe, reported at once (one problem: one line; several: one line each)."""

    def __init__(self, problems: list[str], source: str = "recipe"):
        # Each problem is one line whatever it quotes (YAML snippets, values with newlines).
        self.problems = [" ".join(str(p).split()) for p in problems]
        if len(self.problems) == 1:
            message = f"{source}: {self.problems[0]}" if source else self.problems[0]
        else:
            shown = self.problems[:MAX_PROBLEMS_SHOWN]
            more = len(self.problems) - len(shown)
            lines = "\n".join(f"  - {p}" for p in shown) + (f"\n  - ... and {more} more" if more else "")
            message = f"{len(self.problems)} problems in {source or 'the recipe'}:\n{lines}"
        super().__init__(message)


def show(value: Any) -> str:
    """``repr(value)`` for an error message, cut to ``MAX_SHOWN`` characters."""
    try:
        text = repr(value)
    except ValueError:  # an int too long for its decimal repr (Python refuses more than 4300 digits)
        text = f"<{type(value).__name__} too large to print>"
    return short(text)


def short(text: str) -> str:
    return text if len(text) <= MAX_SHOWN else f"{text[:MAX_SHOWN]}... ({len(text)} characters)"


def _key_text(key: Any) -> str:
    """A mapping key as it appears in a key path: itself when a short string, else ``show(key)``."""
    return key if isinstance(key, str) and len(key) <= 60 and key.isprintable() else show(key)


def field(default: Any = dataclasses.MISSING, *, help: str, default_factory: Any = dataclasses.MISSING,
          ge: float | None = None, gt: float | None = None, le: float | None = None, lt: float | None = None) -> Any:
    """A dataclass field with its one-line help (shown by ``describe``) and, for numbers, its allowed range.

    ``ge``/``gt`` and ``le``/``lt`` are inclusive/exclusive lower and upper bounds, checked by ``build`` on every
    number the field holds (``None`` values of optional fields are not numbers and are not checked).
    """
    bounds = {k: v for k, v in (("ge", ge), ("gt", gt), ("le", le), ("lt", lt)) if v is not None}
    kwargs: dict[str, Any] = {"metadata": {"help": help, **bounds}}
    if default_factory is not dataclasses.MISSING:
        kwargs["default_factory"] = default_factory
    else:
        kwargs["default"] = default
    return dataclasses.field(**kwargs)


def range_text(metadata: Any) -> str:
    """The declared range of a field as text: ``(0, 1)``, ``>= 1``, ``[1, 65536]``; empty when it has none."""
    low = ("[", metadata["ge"]) if "ge" in metadata else ("(", metadata["gt"]) if "gt" in metadata else None
    high = (metadata["le"], "]") if "le" in metadata else (metadata["lt"], ")") if "lt" in metadata else None
    if low and high:
        return f"{low[0]}{_number(low[1])}, {_number(high[0])}{high[1]}"
    if low:
        return f"{'>=' if low[0] == '[' else '>'} {_number(low[1])}"
    if high:
        return f"{'<=' if high[1] == ']' else '<'} {_number(high[0])}"
    return ""


def _number(x: float) -> str:
    """A bound as people write it: 65536, 0.5, 1e+06 (never 6.5536e+04)."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e12 else repr(x)


def _out_of_range(value: Any, metadata: Any) -> bool:
    return (("ge" in metadata and value < metadata["ge"]) or ("gt" in metadata and value <= metadata["gt"])
            or ("le" in metadata and value > metadata["le"]) or ("lt" in metadata and value >= metadata["lt"]))


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing what a recipe never needs and what would let a typo or a hostile file pass.

    Refused, each with its line: a key given twice in one mapping (PyYAML keeps the last one silently), anchors and
    aliases (none of the shipped recipes use them; refusing them rules out exponential alias expansion), and nesting
    deeper than ``MAX_DEPTH`` (the composer recurses per level and would hit Python's recursion limit). A value a
    constructor cannot build (an integer of 5,000 digits, the date 2024-13-45, ``!!bool maybe``) is reported as a
    YAML error instead of escaping as a ``ValueError``. Date-like scalars stay strings: no recipe field is a date.
    """

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise yaml.composer.ComposerError(
                None, None, "YAML anchors and aliases (&name, *name) are not supported in recipes; write the "
                            "value out where it is used", event.start_mark)
        if self._depth >= MAX_DEPTH:
            raise yaml.composer.ComposerError(
                None, None, f"nested more than {MAX_DEPTH} levels deep; recipes are flat mappings of a few "
                            "levels", event.start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, KeyError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read the value {show(node.value)} ({' '.join(str(exc).split())[:MAX_SHOWN]})",
                node.start_mark) from None

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue  # a list or mapping as a key: the safe constructor refuses it as unhashable
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key {_key_text(key)} is given twice in one mapping (lines {seen[key]} and "
                                    f"{line}); keep one of them", key_node.start_mark)
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """One line for a YAML error: where (line, column) and what, without PyYAML's multi-line snippet."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        what = "; ".join(str(p) for p in (exc.context, exc.problem) if p)
        return f"invalid YAML at {where}{what}"
    return f"invalid YAML: {' '.join(str(exc).split())}"


def parse_yaml(text: str) -> Any:
    """Parses YAML text with the strict loader (see ``_StrictLoader``); raises ``yaml.YAMLError``."""
    loader = _StrictLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


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
        others = [a for a in args if a is not type(None)]
        if len(others) == 1:  # ``X | None`` with a value: X's own, more precise message
            return _convert(value, others[0], path, problems)
        for arg in args:
            if arg is type(None):
                continue
            trial: list[str] = []
            out = _convert(value, arg, path, trial)
            if not trial:
                return out
        problems.append(f"{path}: expected {_type_name(tp)}, got {show(value)}")
        return None
    if origin is Literal:
        if value not in get_args(tp):
            problems.append(f"{path}: {show(value)} is not allowed; expected {_type_name(tp)}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, list):
            problems.append(f"{path}: expected {_type_name(tp)}, got {show(value)}")
            return []
        (item_tp,) = get_args(tp)[:1]
        return [_convert(v, item_tp, f"{path}[{i}]", problems) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            problems.append(f"{path}: expected {_type_name(tp)}, got {show(value)}")
            return {}
        _, val_tp = get_args(tp)
        return {str(k): _convert(v, val_tp, f"{path}.{_key_text(k)}", problems) for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            problems.append(f"{path}: expected a mapping with keys {sorted(_field_names(tp))}, got {show(value)}")
            return None
        return _build(tp, value, path, problems)
    if tp is bool:
        if not isinstance(value, bool):
            problems.append(f"{path}: expected true or false, got {show(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{path}: expected an integer, got {show(value)}")
        return value
    if tp is float:
        number = value
        if isinstance(value, str):
            # YAML 1.1 reads "1e-5" (no dot) as a string; researchers write learning rates that way.
            try:
                number = float(value)
            except ValueError:
                pass
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            problems.append(f"{path}: expected a number, got {show(value)}")
            return value
        try:
            number = float(number)
        except OverflowError:  # an integer beyond the float range
            number = math.inf
        if not math.isfinite(number):
            # NaN passes every comparison a range check makes; inf turns step counts and schedules into nonsense.
            problems.append(f"{path}: expected a finite number, got {show(value)}")
        return number
    if tp is str:
        if not isinstance(value, str):
            problems.append(f"{path}: expected a string, got {show(value)}")
        elif not _encodable(value):
            # Lone surrogates (undecodable argv bytes) fail when the resolved recipe is printed or saved.
            problems.append(f"{path}: {show(value)} contains bytes that are not UTF-8 text")
        elif any(unicodedata.category(c) == "Cc" for c in value):
            # Every recipe string is a name, a path or a key of one line: a NUL fails deep inside os calls, and a
            # newline in a name splits the lines of logs and Markdown (its results were skipped as broken).
            problems.append(f"{path}: {show(value)} contains a control character (newline, tab, NUL, ...); write it "
                            "on one line of printable text")
        return value
    return value


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_range(value: Any, metadata: Any, where: str, problems: list[str]) -> None:
    """Appends a problem when a number (or any number of a list of numbers) is outside its field's range."""
    values = value if isinstance(value, list) else [value]
    for v in values:
        if isinstance(v, (int, float)) and not isinstance(v, bool) and _out_of_range(v, metadata):
            problems.append(f"{where}: must be {_range_phrase(metadata)}, got {show(v)}")
            return


def _range_phrase(metadata: Any) -> str:
    text = range_text(metadata)
    return f"in {text}" if text[0] in "[(" else text


def _field_names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def _build(cls: type, data: dict, path: str, problems: list[str]) -> Any:
    hints = typing.get_type_hints(cls)
    names = _field_names(cls)
    kwargs: dict[str, Any] = {}
    before = len(problems)
    for key in data:
        if key not in names:
            where = f"{path}.{_key_text(key)}" if path else _key_text(key)
            problems.append(f"{where}: unknown key; valid keys here: {', '.join(names)}")
    for f in dataclasses.fields(cls):
        where = f"{path}.{f.name}" if path else f.name
        if f.name in data and data[f.name] is None and dataclasses.is_dataclass(hints[f.name]):
            continue  # null for a section that cannot be off (train, mlm, ...): its defaults, as when absent
        if f.name in data:
            found = len(problems)
            kwargs[f.name] = _convert(data[f.name], hints[f.name], where, problems)
            if len(problems) == found:
                _check_range(kwargs[f.name], f.metadata, where, problems)
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
        except (TypeError, ValueError, AttributeError, KeyError, ZeroDivisionError):
            found = [] if len(problems) > before else ["recipe could not be validated"]
        for problem in found:
            problems.append(f"{path + '.' if path else ''}{problem}")
    return obj


def _parse_override(item: str) -> tuple[list[str], Any]:
    if "=" not in item:
        raise RecipeError([f"argument {show(item)} is not of the form key=value (e.g. train.lr=2e-5); only the first "
                           "argument can be a recipe file"], "command line")
    key, raw = item.split("=", 1)
    keys = key.strip().split(".")
    if not all(keys):
        raise RecipeError([f"override {show(item)}: the key {show(key)} has an empty part; write dotted keys like "
                           "train.lr=2e-5"], "command line")
    try:
        value = parse_yaml(raw) if raw != "" else ""
    except (yaml.composer.ComposerError, yaml.constructor.ConstructorError) as exc:
        # Refusals of the strict loader (aliases, duplicate keys, deep nesting, unreadable values) are errors; other
        # YAML syntax problems keep the text as a plain string, which the type check then reports if it must not be.
        raise RecipeError([f"override {show(item)}: {_yaml_problem(exc)}"], "command line") from None
    except yaml.YAMLError:
        value = raw
    return keys, value


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Sets dotted ``key=value`` overrides into a nested mapping (a copy is returned).

    A dotted key goes into a section that is absent or null (``lora.r=8`` switches LoRA on), but never replaces a
    section that holds a value of another kind (``train=5 train.lr=1``): that is reported, not silently dropped.
    """
    import copy

    out = copy.deepcopy(data)
    for item in overrides:
        keys, value = _parse_override(item)
        node = out
        for depth, k in enumerate(keys[:-1]):
            if node.get(k) is None:
                node[k] = {}
            elif not isinstance(node[k], dict):
                section = ".".join(keys[: depth + 1])
                raise RecipeError([f"{section}: is {show(node[k])}, not a mapping, so {'.'.join(keys)} cannot be set "
                                   f"inside it; drop the {section}= setting or give {section} as a mapping"],
                                  "command line")
            node = node[k]
        node[keys[-1]] = value
    return out


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # e.g. a name longer than the file system allows
        return False


def read_yaml(path: str | Path) -> dict:
    """Reads a recipe file strictly (see ``_StrictLoader``); every failure is a one-line ``RecipeError``."""
    p = Path(path)
    source = short(str(p))
    try:
        is_dir = p.is_dir()
    except OSError:
        is_dir = False
    if is_dir:
        raise RecipeError([f"recipe {source} is a folder; pass the path of a YAML recipe file (see recipes/)"], source)
    if not _is_file(p):
        # Named as what it is: "does not exist" for /dev/null or a FIFO sends the user looking for a typo.
        what = ("is a symlink to a missing file" if os.path.islink(p) and not os.path.exists(p) else
                "is not a regular file (a FIFO, device or socket)" if os.path.lexists(p) else "does not exist")
        raise RecipeError([f"recipe file {source} {what}; pass the path of a YAML recipe (see recipes/)"],
                          source)
    try:
        with p.open("rb") as f:
            raw = f.read(MAX_RECIPE_BYTES + 1)
    except OSError as exc:
        raise RecipeError([f"recipe file cannot be read ({exc.strerror or exc})"], source) from None
    if len(raw) > MAX_RECIPE_BYTES:
        raise RecipeError([f"recipe file is larger than {MAX_RECIPE_BYTES:,} bytes; recipes are short YAML files "
                           "(is this the right path?)"], source)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecipeError([f"not UTF-8 text (byte {raw[exc.start]:#04x} at offset {exc.start}); a recipe is a YAML "
                           "text file saved as UTF-8"], source) from None
    try:
        data = parse_yaml(text)
    except yaml.YAMLError as exc:
        raise RecipeError([_yaml_problem(exc)], source) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RecipeError([f"the top level must be a mapping of keys, got {type(data).__name__}"], source)
    return data


def build(cls: type[T], data: dict, source: str = "recipe") -> T:
    """Builds dataclass ``cls`` from a mapping, raising one ``RecipeError`` with every problem."""
    problems: list[str] = []
    obj = _build(cls, data, "", problems)
    if problems:
        raise RecipeError(problems, source)
    return obj


def is_recipe_argument(arg: str) -> bool:
    """Whether a first command-line argument names a recipe file rather than a ``key=value`` override.

    A recipe is an existing file, or anything ending in .yaml/.yml, or anything without ``=``: so ``a=b.yaml`` is
    a recipe (read, or reported missing) rather than the override ``a`` set to ``b.yaml``.
    """
    return "=" not in arg or arg.endswith((".yaml", ".yml")) or _is_file(Path(arg))


def load(cls: type[T], argv: list[str]) -> T:
    """Loads a recipe from ``[RECIPE.yaml] [key=value ...]`` command-line arguments."""
    data, source = arguments(argv)
    return build(cls, data, source)


def arguments(argv: list[str]) -> tuple[dict, str]:
    """The raw mapping of ``[RECIPE.yaml] [key=value ...]`` (the file with the overrides applied) and where it came
    from: what the user set, before defaults (``load`` builds the recipe from it)."""
    if argv and is_recipe_argument(argv[0]) and argv[0] not in ("-h", "--help"):
        path, overrides = argv[0], argv[1:]
        if "=" in path and not _is_file(Path(path)):
            raise RecipeError([f"recipe file {show(path)} does not exist (a first argument ending in .yaml/.yml is "
                               "read as a recipe even with '=' in it; to set a key to such a path, put it after the "
                               "recipe or after another key=value)"], "command line")
        data = read_yaml(path)
        source = short(path)
    else:
        path, overrides, data, source = None, argv, {}, "command line"
    return apply_overrides(data, overrides), source


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
        inner = ([a for a in get_args(tp) if dataclasses.is_dataclass(a)]
                 or ([tp] if dataclasses.is_dataclass(tp) else []))
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


def _value_text(value: Any) -> str:
    """A value as a ``key=value`` override writes it: ``1e-05``, ``true``, ``null``, ``[en,de]``, ``{...}``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "[" + ",".join(_value_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_value_text(v)}" for k, v in value.items()) + "}"
    return short(str(value))


def differing_keys(obj: Any, prefix: str = "") -> list[str]:
    """``key=value`` for each dotted key of a recipe whose value is not its dataclass default, in declaration order.

    Required keys (no default) are always listed. A section that is off by default and on here (``lora``) is listed
    as ``lora=on``, then its keys that differ from the section's own defaults.
    """
    out = []
    for f in dataclasses.fields(obj):
        key, value = f"{prefix}{f.name}", getattr(obj, f.name)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            out.append(f"{key}={_value_text(to_dict(value))}")
            continue
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        if dataclasses.is_dataclass(value):
            if not dataclasses.is_dataclass(default):
                out.append(f"{key}=on")
            out.extend(differing_keys(value, f"{key}."))
        elif to_dict(value) != to_dict(default):
            out.append(f"{key}={_value_text(to_dict(value))}")
    return out


SAVED_AS = "recipe.yaml"  # a phase writes its resolved recipe into its output folder (provenance.write_run_header)


def recipe_summary(obj: Any, title: str) -> str:
    """The one line that stands for the resolved recipe in a log: where the phases save it, and what differs from
    the defaults (reading a full recipe at every start hides the settings that matter)."""
    where = f": {Path(obj.output) / SAVED_AS}" if title.startswith("phase") and hasattr(obj, "output") else ""
    changed = ", ".join(differing_keys(obj)) or "none"
    return f"{title} recipe{where} (differs from defaults: {changed}; verbose=true prints it in full)"


def print_recipe(obj: Any, title: str, stream: Any = None) -> None:
    """Prints the recipe at the start of a run: one line (``recipe_summary``), or, with ``verbose=true``, in full."""
    if int(os.environ.get("RANK", "0")) != 0:
        return  # under a launcher, rank 0 prints it once
    stream = stream or sys.stdout
    if getattr(obj, "verbose", False):
        print(f"# resolved {title} recipe", file=stream)
        print(to_yaml(obj), file=stream, flush=True)
    else:
        print(f"[xstilts] {recipe_summary(obj, title)}", file=stream, flush=True)
