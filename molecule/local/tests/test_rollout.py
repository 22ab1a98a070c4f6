"""After converge (site.yml on a fresh root): the first rollout promoted version 1, which serves real,
correct predictions on the held-out rows."""

import json
import os

MODEL = "breast-cancer-classifier"


def test_champion_points_at_the_first_version(platform, http):
    found = http.get_json("%s/api/2.0/mlflow/registered-models/alias?name=%s&alias=champion" % (platform.mlflow_url, MODEL))
    version = found["model_version"]
    assert version["version"] == "1"
    tags = dict((t["key"], t["value"]) for t in version.get("tags", []))
    assert tags["mlops.rollout.state"] == "PROMOTED"
    assert tags["mlops.rollout.previous_champion"] == "none"


def test_mlserver_serves_the_champion_version(platform, http):
    status, _ignored = http.get("%s/v2/models/%s/versions/1/ready" % (platform.seldon_url, MODEL))
    assert status == 200
    with open(os.path.join(platform.root, "seldon", "models", MODEL, "model-settings.json")) as handle:
        assert json.load(handle)["parameters"] == {"uri": "models:/%s/1" % MODEL, "version": "1"}


def test_a_real_prediction_is_correct(platform, http):
    with open(os.path.join(platform.root, "rollout", MODEL, "data", "prepared", "heldout.json")) as handle:
        heldout = json.load(handle)
    status, body = http.request("%s/v2/models/%s/infer" % (platform.seldon_url, MODEL), "POST", heldout["v2_request"])
    assert status == 200, body
    predictions = [int(x) for x in json.loads(body)["outputs"][0]["data"]]
    assert predictions == heldout["labels"]
