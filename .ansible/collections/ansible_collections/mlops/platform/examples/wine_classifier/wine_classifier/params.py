"""The training parameters: their defaults, and overrides from MLOPS_PARAMS and the command line.

Precedence, lowest first: the defaults in ``SPECS``, then the JSON object in the environment
variable ``MLOPS_PARAMS``, then ``--NAME VALUE`` / ``--NAME=VALUE`` arguments. Every value is
checked before anything is trained or logged; a problem raises ``ParamError`` with a one-line
message that names the parameter, where it came from and what was expected.
"""

import json
import math

ENV_VAR = "MLOPS_PARAMS"
FROM_ENV = f"in {ENV_VAR}"
FROM_ARGS = "on the command line"


class ParamError(ValueError):
    """A parameter override that cannot be used; str() is the one-line message."""


def parse_number(value, integer=False):
    """A finite float (or an int when ``integer``) from a JSON number or a string; None when it is not one."""
    number = None
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value) if abs(value) < 2**1023 else math.inf
    if number is None or not math.isfinite(number) or (integer and not number.is_integer()):
        return None
    return int(number) if integer else number


def parse_bool(value):
    """True or False from a JSON boolean or a string (true/false, yes/no, on/off, 1/0); None otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return {"true": True, "yes": True, "on": True, "1": True,
                "false": False, "no": False, "off": False, "0": False}.get(value.strip().lower())
    return None


def positive_float(value):
    """The value as a float > 0, or None."""
    number = parse_number(value)
    return number if number is not None and number > 0 else None


def split_fraction(value):
    """The value as a float in [0.1, 0.5], or None (every class needs rows on both sides of the split)."""
    number = parse_number(value)
    return number if number is not None and 0.1 <= number <= 0.5 else None


def positive_int(value):
    """The value as an int >= 1, or None."""
    number = parse_number(value, integer=True)
    return number if number is not None and number >= 1 else None


def seed_int(value):
    """The value as an int in [0, 2**32 - 1] (what numpy accepts as a seed), or None."""
    number = parse_number(value, integer=True)
    return number if number is not None and 0 <= number <= 2**32 - 1 else None


# name: (default, converter, what the converter accepts, meaning)
SPECS = {
    "C": (1.0, positive_float, "a number > 0", "inverse regularisation strength of the logistic regression"),
    "max_iter": (200, positive_int, "an integer >= 1", "iteration limit of the lbfgs solver"),
    "seed": (42, seed_int, "an integer between 0 and 4294967295", "seed of the train/test split and of the model"),
    "test_size": (0.3, split_fraction, "a number between 0.1 and 0.5", "share of rows in the stratified test split"),
    "degrade": (False, parse_bool, "true or false", "train a deliberately worse model (two weak features only)"),
}
DEFAULTS = {name: spec[0] for name, spec in SPECS.items()}
BOOLEANS = frozenset(name for name, spec in SPECS.items() if spec[1] is parse_bool)


def render(value):
    """A value as it appears in a message: JSON, so strings are quoted and booleans lower-case."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def convert(name, value, source):
    """The checked value of parameter ``name``; ParamError when the name or the value is wrong."""
    if name not in SPECS:
        raise ParamError(f"unknown parameter {name!r} {source} (known: {', '.join(SPECS)})")
    converted = SPECS[name][1](value)
    if converted is None:
        raise ParamError(f"bad value for {name} {source}: expected {SPECS[name][2]}, got {render(value)}")
    return converted


def from_env(environ):
    """The overrides in ``environ['MLOPS_PARAMS']`` (a JSON object), checked; {} when unset or blank."""
    text = environ.get(ENV_VAR, "")
    if not text.strip():
        return {}
    try:
        document = json.loads(text)
    except ValueError as error:
        raise ParamError(f"{ENV_VAR} is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        kinds = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
        kind = kinds.get(type(document), "a number")
        raise ParamError(f"{ENV_VAR} must be a JSON object of parameter overrides, got {kind}")
    return {name: convert(name, value, FROM_ENV) for name, value in document.items()}


def from_args(argv):
    """The overrides given as ``--NAME VALUE`` or ``--NAME=VALUE`` (a boolean may stand alone), checked."""
    overrides = {}
    position = 0
    while position < len(argv):
        argument = argv[position]
        position += 1
        if not argument.startswith("--") or argument == "--":
            raise ParamError(f"unexpected argument {argument!r} {FROM_ARGS} (expected --NAME VALUE or --NAME=VALUE)")
        name, equals, value = argument[2:].partition("=")
        if not equals:
            if position < len(argv) and not argv[position].startswith("--"):
                value = argv[position]
                position += 1
            elif name in BOOLEANS:
                value = "true"
            elif name in SPECS:
                raise ParamError(f"missing value for --{name} {FROM_ARGS}")
        if name in overrides:
            raise ParamError(f"parameter {name} given twice {FROM_ARGS}")
        overrides[name] = convert(name, value, FROM_ARGS)
    return overrides


def resolve(argv, environ):
    """The effective parameters: the defaults, then MLOPS_PARAMS, then the arguments."""
    params = dict(DEFAULTS)
    params.update(from_env(environ))
    params.update(from_args(argv))
    return params


def usage(prog):
    """The --help text: how to override, and every parameter with its default."""
    lines = [
        f"usage: {prog} [--NAME VALUE | --NAME=VALUE ...]",
        "",
        f"Trains the wine classifier and logs it to MLflow. Overrides come from the JSON object in {ENV_VAR},",
        "then from the arguments (which win). Parameters:",
    ]
    for name, spec in SPECS.items():
        lines.append(f"  --{name:<10} {spec[3]}; {spec[2]}; default {render(spec[0])}")
    return "\n".join(lines)
