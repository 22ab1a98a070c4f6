"""Reading params.yaml."""

import yaml

from breast_cancer import paths


def load(path=paths.PARAMS):
    """Return params.yaml as a dict."""
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def flatten(params, prefix=""):
    """Flatten nested params to dotted keys, e.g. {'model': {'max_depth': 8}} -> {'model.max_depth': 8}."""
    flat = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, prefix=f"{name}."))
        else:
            flat[name] = value
    return flat
