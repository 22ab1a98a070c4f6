"""Change params.yaml from the command line, keeping its comments.

    python -m breast_cancer.set_params train.degrade=true data.corruption=nulls model.max_depth=4

Values are read as YAML scalars (true, 4, 0.3, none). Only keys that already exist can be set,
so a typo fails instead of adding a parameter no stage reads. A playbook uses this in its work
copy of the project before ``dvc repro``; `dvc repro` then reruns the stages that read the key.
"""

import argparse
import sys

from ruamel.yaml import YAML

from breast_cancer import paths


class ParamError(Exception):
    """An assignment that cannot be applied."""


def parse_assignment(text, yaml):
    """'a.b=value' -> (['a', 'b'], parsed value)."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise ParamError(f"expected KEY=VALUE, got {text!r}")
    return key.split("."), yaml.load(raw) if raw else ""


def apply(document, keys, value):
    """Set ``document[k1][k2]... = value``; every key must already exist."""
    node = document
    for depth, key in enumerate(keys):
        if not isinstance(node, dict) or key not in node:
            raise ParamError(f"unknown parameter {'.'.join(keys[:depth + 1])!r}")
        if depth == len(keys) - 1:
            if isinstance(node[key], dict):
                raise ParamError(f"{'.'.join(keys)!r} is a section; set one of its keys")
            node[key] = value
        else:
            node = node[key]


def set_params(assignments, path=paths.PARAMS):
    """Apply KEY=VALUE assignments to the params file in place."""
    yaml = YAML()
    yaml.preserve_quotes = True
    with open(path, encoding="utf-8") as handle:
        document = yaml.load(handle)
    for text in assignments:
        keys, value = parse_assignment(text, yaml)
        apply(document, keys, value)
    with open(path, "w", encoding="utf-8") as handle:
        yaml.dump(document, handle)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="+", metavar="KEY=VALUE")
    parser.add_argument("--file", default=paths.PARAMS)
    args = parser.parse_args(argv)
    try:
        set_params(args.assignments, args.file)
    except ParamError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 1
    print(f"{args.file}: set {', '.join(args.assignments)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
