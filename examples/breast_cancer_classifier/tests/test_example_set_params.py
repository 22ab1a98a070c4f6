"""set_params: edit params.yaml in place, keep comments, refuse unknown keys."""

import pytest

from breast_cancer import params as params_mod
from breast_cancer import set_params


def test_values_are_typed_and_comments_kept(project_copy):
    assert set_params.main(["train.degrade=true", "split.test_size=0.3", "data.corruption=nulls", "model.max_features=log2"]) == 0
    loaded = params_mod.load()
    assert loaded["train"]["degrade"] is True
    assert loaded["split"]["test_size"] == 0.3
    assert loaded["data"]["corruption"] == "nulls"
    assert loaded["model"]["max_features"] == "log2"
    assert "# The worse-model switch" in (project_copy / "params.yaml").read_text()


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("model.depth=3", "ERROR: unknown parameter 'model.depth'\n"),
        ("nope.x=1", "ERROR: unknown parameter 'nope'\n"),
        ("model=3", "ERROR: 'model' is a section; set one of its keys\n"),
        ("degrade", "ERROR: expected KEY=VALUE, got 'degrade'\n"),
    ],
)
def test_bad_assignments(project_copy, capsys, assignment, message):
    before = (project_copy / "params.yaml").read_text()
    assert set_params.main([assignment]) == 1
    assert capsys.readouterr().err == message
    assert (project_copy / "params.yaml").read_text() == before
