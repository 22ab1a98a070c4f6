"""Parameter overrides: MLOPS_PARAMS, the arguments, their precedence and the exact error messages."""

import pytest

from wine_classifier import params

KNOWN = "(known: C, max_iter, seed, test_size, degrade)"


def test_defaults_without_any_override():
    """No MLOPS_PARAMS (or an empty one) and no arguments: the defaults."""
    assert params.resolve([], {}) == {"C": 1.0, "max_iter": 200, "seed": 42, "test_size": 0.3, "degrade": False}
    assert params.resolve([], {"MLOPS_PARAMS": ""}) == params.DEFAULTS
    assert params.resolve([], {"MLOPS_PARAMS": "  {}  "}) == params.DEFAULTS


def test_env_json_overrides_with_types_checked():
    """Every parameter can be overridden through MLOPS_PARAMS."""
    environ = {"MLOPS_PARAMS": '{"C": 0.5, "max_iter": 300, "seed": 7, "test_size": 0.25, "degrade": true}'}
    assert params.resolve([], environ) == {"C": 0.5, "max_iter": 300, "seed": 7, "test_size": 0.25, "degrade": True}


def test_env_json_accepts_numbers_as_strings_and_integral_floats():
    """Templated values ("2", 300.0, "yes") are converted to the parameter's type."""
    environ = {"MLOPS_PARAMS": '{"C": "2", "max_iter": 300.0, "seed": "7", "degrade": "yes"}'}
    resolved = params.resolve([], environ)
    assert (resolved["C"], resolved["max_iter"], resolved["seed"], resolved["degrade"]) == (2.0, 300, 7, True)
    assert isinstance(resolved["C"], float) and isinstance(resolved["max_iter"], int)


def test_arguments_in_both_spellings():
    """--NAME VALUE and --NAME=VALUE both work."""
    resolved = params.resolve(["--C", "0.5", "--max_iter=300", "--seed", "7", "--degrade", "false"], {})
    assert resolved == {"C": 0.5, "max_iter": 300, "seed": 7, "test_size": 0.3, "degrade": False}


@pytest.mark.parametrize("argv", [["--degrade"], ["--degrade", "--C", "2"], ["--degrade=true"], ["--degrade", "on"]])
def test_a_boolean_argument_may_stand_alone(argv):
    """A bare --degrade means true."""
    assert params.resolve(argv, {})["degrade"] is True


def test_arguments_win_over_the_environment():
    """An argument beats MLOPS_PARAMS for the same key; other keys of MLOPS_PARAMS stay."""
    environ = {"MLOPS_PARAMS": '{"C": 0.5, "seed": 7}'}
    assert params.resolve(["--C", "2"], environ) == dict(params.DEFAULTS, C=2.0, seed=7)


@pytest.mark.parametrize("text, message", [
    ('{"alpha": 1}', f"unknown parameter 'alpha' in MLOPS_PARAMS {KNOWN}"),
    ('{"c": 1}', f"unknown parameter 'c' in MLOPS_PARAMS {KNOWN}"),
    ('{"C": -1}', "bad value for C in MLOPS_PARAMS: expected a number > 0, got -1"),
    ('{"C": 0}', "bad value for C in MLOPS_PARAMS: expected a number > 0, got 0"),
    ('{"C": "abc"}', 'bad value for C in MLOPS_PARAMS: expected a number > 0, got "abc"'),
    ('{"C": true}', "bad value for C in MLOPS_PARAMS: expected a number > 0, got true"),
    ('{"C": NaN}', "bad value for C in MLOPS_PARAMS: expected a number > 0, got NaN"),
    ('{"max_iter": 3.5}', "bad value for max_iter in MLOPS_PARAMS: expected an integer >= 1, got 3.5"),
    ('{"seed": null}', "bad value for seed in MLOPS_PARAMS: expected an integer between 0 and 4294967295, got null"),
    ('{"test_size": 0.9}', "bad value for test_size in MLOPS_PARAMS: expected a number between 0.1 and 0.5, got 0.9"),
    ('{"degrade": 1}', "bad value for degrade in MLOPS_PARAMS: expected true or false, got 1"),
    ('[1]', "MLOPS_PARAMS must be a JSON object of parameter overrides, got an array"),
    ('"C=1"', "MLOPS_PARAMS must be a JSON object of parameter overrides, got a string"),
    ('{C: 1}',
     "MLOPS_PARAMS is not valid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
])
def test_bad_env_json_messages(text, message):
    """The exact message for each kind of bad MLOPS_PARAMS."""
    with pytest.raises(params.ParamError) as caught:
        params.resolve([], {"MLOPS_PARAMS": text})
    assert str(caught.value) == message


@pytest.mark.parametrize("argv, message", [
    (["--alpha", "2"], f"unknown parameter 'alpha' on the command line {KNOWN}"),
    (["--alpha"], f"unknown parameter 'alpha' on the command line {KNOWN}"),
    (["--C"], "missing value for --C on the command line"),
    (["--C", "--max_iter", "3"], "missing value for --C on the command line"),
    (["C=1"], "unexpected argument 'C=1' on the command line (expected --NAME VALUE or --NAME=VALUE)"),
    (["--C", "0.5", "--C", "1"], "parameter C given twice on the command line"),
    (["--max_iter=abc"], 'bad value for max_iter on the command line: expected an integer >= 1, got "abc"'),
    (["--seed", "-1"],
     'bad value for seed on the command line: expected an integer between 0 and 4294967295, got "-1"'),
    (["--degrade", "maybe"], 'bad value for degrade on the command line: expected true or false, got "maybe"'),
])
def test_bad_argument_messages(argv, message):
    """The exact message for each kind of bad argument."""
    with pytest.raises(params.ParamError) as caught:
        params.resolve(argv, {})
    assert str(caught.value) == message


def test_the_environment_is_checked_even_when_an_argument_overrides_it():
    """A bad MLOPS_PARAMS value is an error even if an argument replaces it."""
    with pytest.raises(params.ParamError, match="^bad value for C in MLOPS_PARAMS"):
        params.resolve(["--C", "2"], {"MLOPS_PARAMS": '{"C": -1}'})


def test_usage_lists_every_parameter_with_its_default():
    """The --help text names every parameter and its default."""
    text = params.usage("prog")
    for name, spec in params.SPECS.items():
        assert f"--{name}" in text and f"default {params.render(spec[0])}" in text
