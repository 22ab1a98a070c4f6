"""A serving fault the example model can be told to inject, for canary tests (params.yaml ``serving``).

``serving.error_every: N`` makes every Nth prediction call fail (N=5: 20% of the requests), and
``serving.delay_seconds: S`` makes every call S seconds slower. With either set, ``train`` logs the
classifier wrapped in this MLflow "model from code" (the file is logged with the model and run by
``mlflow.pyfunc.load_model``, as MLServer's MLflow runtime loads it): same predictions, same
metrics, so the offline gate passes it, and only the serving metrics tell it apart. Deterministic on
purpose: a count, not a random draw, so a test knows the error ratio it will see.
"""

import time

import mlflow
from mlflow.pyfunc import PythonModel


class FaultyClassifier(PythonModel):
    """The trained classifier (artifact ``classifier``) with the configured faults."""

    def __init__(self):
        self._model = None
        self._calls = 0
        self._error_every = 0
        self._delay = 0.0

    def load_context(self, context):
        config = context.model_config or {}
        self._error_every = int(config.get("error_every") or 0)
        self._delay = float(config.get("delay_seconds") or 0.0)
        self._model = mlflow.sklearn.load_model(context.artifacts["classifier"])

    def predict(self, context, model_input, params=None):  # pylint: disable=unused-argument
        self._calls += 1
        if self._delay:
            time.sleep(self._delay)
        if self._error_every and self._calls % self._error_every == 0:
            raise RuntimeError("injected serving fault: call %d fails (serving.error_every=%d)"
                               % (self._calls, self._error_every))
        return self._model.predict(model_input)


mlflow.models.set_model(FaultyClassifier())
