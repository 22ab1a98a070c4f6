"""After converge (site.yml on a fresh root): the first rollout promoted version 1, which serves real,
correct predictions on the held-out rows at the default endpoint."""

import glob
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


def test_mlserver_serves_the_champion_at_the_default_endpoint(platform, http):
    meta = http.get_json("%s/v2/models/%s/versions/champion" % (platform.seldon_url, MODEL))
    assert meta["versions"] == ["models:/%s/1" % MODEL]
    entries = sorted(os.path.relpath(p, platform.root) for p in
                     glob.glob(os.path.join(platform.root, "seldon", "models", MODEL, "*", "model-settings.json")))
    assert entries == ["seldon/models/%s/champion/model-settings.json" % MODEL]


def test_a_real_prediction_is_correct(platform, http):
    heldouts = glob.glob(os.path.join(platform.root, "rollout", MODEL, "*", "data", "prepared", "heldout.json"))
    assert len(heldouts) == 1
    with open(heldouts[0]) as handle:
        heldout = json.load(handle)
    status, body = http.request("%s/v2/models/%s/infer" % (platform.seldon_url, MODEL), "POST", heldout["v2_request"])
    assert status == 200, body
    predictions = [int(x) for x in json.loads(body)["outputs"][0]["data"]]
    assert predictions == heldout["labels"]
