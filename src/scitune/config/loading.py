"""Reading an experiment file: YAML in, a validated :class:`~scitune.config.Experiment` out.

Validation happens here, before anything touches the store, and every problem becomes one
:class:`~scitune.errors.ConfigError` whose message names the file, the line, the key path and the
rule that was broken, e.g.::

    experiment.yaml:9: hyperparameters.nuisance.learning_rate: low (0.1) must be below high (0.0001)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

import yaml
from pydantic import ValidationError

from scitune.config.experiment import Experiment, KeyedError
from scitune.errors import ConfigError

class _Loader(yaml.SafeLoader):
    """SafeLoader that reads ``1e-4`` as a float (YAML 1.1 wants ``1.0e-4``)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+$"),
    list("-+0123456789."),
)


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
    return msg.removeprefix("Value error, ")


def parse_experiment(text: str, source: str = "<experiment>") -> Experiment:
    """Validate an experiment file's text. ``source`` names it in error messages."""
    root = None
    try:
        root = yaml.compose(text, Loader=_Loader)
        _check_duplicate_keys(root)
        raw = yaml.load(text, Loader=_Loader)
    except KeyedError as err:
        raise ConfigError(_where(source, root, err.loc, err.message, err.line)) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        raise ConfigError(f"{where}: not valid YAML: {getattr(err, 'problem', None) or err}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: an experiment file is a mapping of keys (experiment, goal, train, ...)")
    try:
        return Experiment.model_validate(raw)
    except KeyedError as err:
        raise ConfigError(_where(source, root, err.loc, err.message)) from None
    except ValidationError as err:
        first = err.errors()[0]
        more = len(err.errors()) - 1
        tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise ConfigError(_where(source, root, tuple(first["loc"]), _describe(first)) + tail) from None


def _where(source: str, root: yaml.Node | None, loc: tuple, message: str, line: int | None = None) -> str:
    line = line or _line_of(root, loc)
    key = ".".join(str(p) for p in loc if p != "") or "(top level)"
    return f"{source}:{line}: {key}: {message}" if line else f"{source}: {key}: {message}"


def load_experiment(path: str | Path) -> tuple[Experiment, str]:
    """Read and validate an experiment file; returns the experiment and the file's text."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such experiment file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read the experiment file ({err})") from None
    return parse_experiment(text, str(path)), text
