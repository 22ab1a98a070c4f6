"""The command's exit status and output on bad input: one line on stderr, status 2, MLflow untouched."""

import pytest

from wine_classifier import train


@pytest.fixture(name="no_mlflow")
def fixture_no_mlflow(monkeypatch, clean_env):
    """Make any attempt to log fail the test: bad input must be refused before MLflow is used."""
    def refuse(*args):
        raise AssertionError(f"log_run called with {len(args)} arguments")

    monkeypatch.setattr(train, "log_run", refuse)
    return clean_env


@pytest.mark.usefixtures("no_mlflow")
@pytest.mark.parametrize("environ, argv, message", [
    ({"MLOPS_PARAMS": '{"alpha": 1}'}, [],
     "unknown parameter 'alpha' in MLOPS_PARAMS (known: C, max_iter, seed, test_size, degrade)"),
    ({"MLOPS_PARAMS": '{"C": -1}'}, [], "bad value for C in MLOPS_PARAMS: expected a number > 0, got -1"),
    ({"MLOPS_PARAMS": "[]"}, [], "MLOPS_PARAMS must be a JSON object of parameter overrides, got an array"),
    ({}, ["--max_iter", "0"], 'bad value for max_iter on the command line: expected an integer >= 1, got "0"'),
    ({"MLOPS_PARAMS": '{"C": 0.5}'}, ["--test_size", "1"],
     'bad value for test_size on the command line: expected a number between 0.1 and 0.5, got "1"'),
])
def test_bad_input_is_one_line_and_status_2(monkeypatch, capsys, environ, argv, message):
    """Each kind of bad input: status 2, exactly one line on stderr, nothing on stdout, no logging."""
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert train.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err == f"wine_classifier.train: error: {message}\n"
    assert captured.out == ""


@pytest.mark.usefixtures("no_mlflow")
def test_help_prints_the_parameters(capsys):
    """--help prints the usage and every parameter, and trains nothing."""
    assert train.main(["--help"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("usage: wine_classifier.train [--NAME VALUE | --NAME=VALUE ...]\n")
    assert "  --C          inverse regularisation strength of the logistic regression; a number > 0; default 1.0\n" \
        in printed
