"""Reading an experiment file: YAML in, a validated :class:`~scitune.config.Experiment` out.

Validation happens here, before anything touches the store, and every problem becomes one
:class:`~scitune.errors.ConfigError` whose message names the file, the line, the key path and the
rule that was broken, e.g.::

    experiment.yaml:9: hyperparameters.nuisance.learning_rate: low (0.1) must be below high (0.0001)
"""

from __future__ import annotations

import difflib
import re
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from scitune.config.experiment import Experiment, KeyedError
from scitune.errors import ConfigError


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads ``1e-4`` as a float (YAML 1.1 wants ``1.0e-4``)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+$"),
    list("-+0123456789."),
)


# Bounds on what an experiment file may be (docs/reliability.md): real ones are a few kilobytes.
MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 32  # nested mappings and lists
MAX_NODES = 100_000  # values once every alias is expanded (an alias bomb is tiny until expanded)
_PLAIN_TAGS = {
    f"tag:yaml.org,2002:{t}" for t in ("null", "bool", "int", "float", "str", "seq", "map", "merge")
}
_TAG_RULES = {
    "tag:yaml.org,2002:timestamp": "a date or time is not a value scitune stores; quote it to keep it as text",
    "tag:yaml.org,2002:binary": "!!binary values are not allowed; give text or numbers",
    "tag:yaml.org,2002:set": "!!set values are not allowed; give a list",
}


def _nesting_depth(text: str, source: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH from the token stream (PyYAML's composer recurses, so
    a 5,000-deep file would exhaust Python's stack before any node existed)."""
    depth = 0
    opening = (yaml.BlockMappingStartToken, yaml.BlockSequenceStartToken, yaml.FlowMappingStartToken,
               yaml.FlowSequenceStartToken)
    closing = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)
    for token in yaml.scan(text, Loader=_Loader):
        if isinstance(token, opening):
            depth += 1
            if depth > MAX_DEPTH:
                line = token.start_mark.line + 1
                raise ConfigError(f"{source}:{line}: (top level): nested deeper than {MAX_DEPTH} levels")
        elif isinstance(token, closing):
            depth -= 1


def _check_nodes(root: yaml.Node | None, source: str) -> None:
    """Every value a plain one (no dates, !!binary, !!set), no alias that contains itself, and at
    most MAX_NODES values with every alias expanded."""
    count = 0
    stack: list[tuple[yaml.Node, frozenset[int], tuple]] = [(root, frozenset(), ())] if root is not None else []
    while stack:
        node, above, path = stack.pop()
        count += 1
        line = node.start_mark.line + 1
        key = ".".join(str(p) for p in path) or "(top level)"
        if count > MAX_NODES:
            raise ConfigError(
                f"{source}:{line}: {key}: more than {MAX_NODES:,} values once aliases are expanded (an alias bomb?)"
            )
        if id(node) in above:
            raise ConfigError(f"{source}:{line}: {key}: an alias refers to a value that contains it")
        if node.tag in _TAG_RULES:
            raise ConfigError(f"{source}:{line}: {key}: {_TAG_RULES[node.tag]}")
        if node.tag not in _PLAIN_TAGS:
            raise ConfigError(f"{source}:{line}: {key}: the tag {node.tag} is not allowed in an experiment file")
        inner = above | {id(node)}
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                name = k.value if isinstance(k, yaml.ScalarNode) else "?"
                stack += [(k, inner, (*path, name)), (v, inner, (*path, name))]
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((child, inner, (*path, i)) for i, child in enumerate(node.value))


def _check_duplicate_keys(node: yaml.Node | None, path: tuple = ()) -> None:
    """PyYAML keeps the last of two equal keys silently; a config file must not."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                raise KeyedError(
                    (*path, key),
                    f"key '{key}' appears twice (first on line {seen[key] + 1})",
                    key_node.start_mark.line + 1,
                )
            seen[key] = key_node.start_mark.line
            _check_duplicate_keys(value_node, (*path, key))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _check_duplicate_keys(item, (*path, i))


def _line_of(root: yaml.Node | None, loc: tuple) -> int | None:
    """The 1-based line of the deepest node on ``loc`` that exists in the YAML tree."""
    node, line = root, None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if match is None:
                break
            line = match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _describe(error: Mapping[str, Any]) -> str:
    kind, msg, ctx = error["type"], error["msg"], error.get("ctx") or {}
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    if kind == "string_pattern_mismatch" and error["loc"] and error["loc"][-1] in ("train", "test"):
        return "must be 'module:function', e.g. examples.digits.train:train"
    if kind == "string_pattern_mismatch":
        return "must start with a letter or digit and use only letters, digits, '_', '.', '-'"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le'):,} (scitune's limit)"
    if kind == "string_too_long":
        return f"is longer than {ctx.get('max_length'):,} characters (scitune's limit)"
    return msg.removeprefix("Value error, ")


def parse_experiment(text: str, source: str = "<experiment>") -> Experiment:
    """Validate an experiment file's text. ``source`` names it in error messages."""
    root = None
    if len(text) > MAX_FILE_BYTES:
        raise ConfigError(f"{source}: the file is larger than {MAX_FILE_BYTES:,} bytes; an experiment file is small")
    try:
        _nesting_depth(text, source)
        root = yaml.compose(text, Loader=_Loader)
        _check_nodes(root, source)
        _check_duplicate_keys(root)
        raw = yaml.load(text, Loader=_Loader)
    except RecursionError:  # a guard for what the bounds above did not foresee
        raise ConfigError(f"{source}: (top level): nested too deeply to read") from None
    except KeyedError as err:
        raise ConfigError(_where(source, root, err.loc, err.message, err.line)) from None
    except yaml.reader.ReaderError as err:  # a character YAML does not allow (NUL, some controls)
        line = text[: err.position].count("\n") + 1
        raise ConfigError(f"{source}:{line}: (top level): not valid YAML: character {err.character!r} "
                          "is not allowed") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else f"{source}:1"
        problem = str(getattr(err, "problem", None) or err).splitlines()[0]
        raise ConfigError(f"{where}: not valid YAML: {problem}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}:1: (top level): an experiment file is a mapping of keys (experiment, goal, train, ...)")
    try:
        return Experiment.model_validate(raw)
    except KeyedError as err:
        raise ConfigError(_where(source, root, err.loc, err.message)) from None
    except ValidationError as err:
        # Every problem, a line each, in the file's order (a misspelt key and the key it leaves
        # missing are both shown, so the real cause is never hidden behind "1 more problem").
        problems = []
        alternatives: dict[tuple, list[str]] = {}  # a value that fits none of a union's forms: one line
        for error in err.errors():
            loc = tuple(error["loc"])
            tag = next((i for i, part in enumerate(loc) if _is_type_tag(part)), None)
            if tag is not None:
                alternatives.setdefault(loc[:tag], []).append(_describe(error).removeprefix("Input should be "))
                continue
            message = _describe(error)
            if error["type"] == "extra_forbidden":
                message += _suggestion(loc)
            problems.append((_line_of(root, loc) or 1, _where(source, root, loc, message)))
        for loc, forms in alternatives.items():
            message = "must be " + " or ".join(dict.fromkeys(f.removeprefix("a valid ") for f in forms))
            problems.append((_line_of(root, loc) or 1, _where(source, root, loc, message)))
        problems.sort(key=lambda p: p[0])
        raise ConfigError("\n".join(dict.fromkeys(line for _, line in problems))) from None


_TYPE_TAGS = {"int", "float", "str", "bool", "list", "dict", "none", "literal", "tuple"}


def _is_type_tag(part: Any) -> bool:
    """Whether a pydantic error location part names one form of a union, not a key."""
    return isinstance(part, str) and ("[" in part or part in _TYPE_TAGS or part.startswith("function-"))


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The model whose keys are valid at key path ``loc`` of an experiment file, if there is one."""
    model: Any = Experiment
    expect_key = False  # a dict's own key (a hyperparameter's name) comes before its model's keys
    for part in loc:
        if expect_key:
            expect_key = False
            continue
        field = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            return None
        model, expect_key = _model_of(field.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _model_of(annotation: Any) -> tuple[Any, bool]:
    """The model class in a field's annotation (through Optional and dict values)."""
    origin = typing.get_origin(annotation)
    if origin is dict:
        inner, _ = _model_of(typing.get_args(annotation)[1])
        return inner, True
    if origin is not None:
        for arg in typing.get_args(annotation):
            inner, keyed = _model_of(arg)
            if inner is not None:
                return inner, keyed
        return None, False
    return (annotation, False) if isinstance(annotation, type) and issubclass(annotation, BaseModel) else (None, False)


def _suggestion(loc: tuple) -> str:
    """`` (did you mean X?)`` for an unknown key close to a valid one at its place, else ``""``."""
    model = _model_at(loc[:-1])
    if model is None or not loc:
        return ""
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def _where(source: str, root: yaml.Node | None, loc: tuple, message: str, line: int | None = None) -> str:
    line = line or _line_of(root, loc) or (1 if root is not None else None)  # a top-level key: the file's start
    key = ".".join(str(p) for p in loc if p != "") or "(top level)"
    return f"{source}:{line}: {key}: {message}" if line else f"{source}: {key}: {message}"


def load_experiment(path: str | Path) -> tuple[Experiment, str]:
    """Read and validate an experiment file; returns the experiment and the file's text."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:  # bounded: /dev/zero or a huge file must not fill memory
            data = handle.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise ConfigError(f"{path}: the file is larger than {MAX_FILE_BYTES:,} bytes; an experiment file is small")
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such experiment file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not an experiment file") from None
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: (top level): not UTF-8 text (byte {err.start})") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the experiment file ({err.strerror or err})") from None
    return parse_experiment(text, str(path)), text
