"""Each target playbook runs the module's behaviours end to end: check mode (read back), the change, the same
call again, diff, and bad input with the exact message. A playbook fails on the first broken assertion."""

import pytest

TARGETS = [
    "mlflow_experiment",
    "mlflow_run_info",
    "mlflow_registered_model",
    "mlflow_model_version",
    "mlflow_model_version_info",
    "mlflow_model_alias",
    "mlflow_model_gate",
    "bad_input",
]


@pytest.mark.parametrize("target", TARGETS)
def test_target(play, target):
    result = play(target)
    result.check(rc=0)
    assert "failed=0" in result.stdout
