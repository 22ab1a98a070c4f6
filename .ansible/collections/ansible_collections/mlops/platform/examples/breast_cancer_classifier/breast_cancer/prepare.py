"""Stage `prepare`: deterministic stratified train/test split, plus the held-out smoke file.

data/prepared/heldout.json holds a few rows of the test split (as many of each label, the most
typical ones: see heldout_rows) with their true labels, in shapes a deploy smoke test can send
as they are:

* ``dataframe_split`` - ``{"columns": [...], "data": [[...], ...]}`` (MLflow scoring server);
* ``v2_request`` - an Open Inference (V2) protocol request with one input per column and the
  pandas content type, the shape MLServer's MLflow runtime decodes into a DataFrame;
* ``labels`` - the expected label of each row, in order (``label_names`` maps them).
"""

import argparse
import json
import os
import sys

import pandas as pd
from sklearn.model_selection import train_test_split

from breast_cancer import params as params_mod
from breast_cancer import paths, schema


def split(frame, seed, test_size):
    """Stratified split; the same frame, seed and size always give the same rows in the same order."""
    train, test = train_test_split(frame, test_size=test_size, random_state=seed, stratify=frame[schema.TARGET])
    return train, test


def heldout_rows(train, test, count):
    """Pick the ``count`` most typical rows of the test split, as many of each label.

    Typical means far nearer to the centroid of its own label than to the other label's, in
    features standardized on the training split. Any sound model classifies such rows right,
    so a smoke test can expect the true labels; the choice does not depend on any model.
    """
    mean, std = train[schema.FEATURES].mean(), train[schema.FEATURES].std()
    scaled = (test[schema.FEATURES] - mean) / std
    centroids = {label: ((rows[schema.FEATURES] - mean) / std).mean() for label, rows in train.groupby(schema.TARGET)}
    distance = pd.DataFrame({label: ((scaled - centroid) ** 2).sum(axis=1) ** 0.5 for label, centroid in centroids.items()})
    labels = sorted(schema.LABELS)
    picked = []
    for position, label in enumerate(labels):
        wanted = count // len(labels) + (1 if position < count % len(labels) else 0)
        others = [other for other in labels if other != label]
        margin = (distance[others].min(axis=1) - distance[label])[test[schema.TARGET] == label]
        if len(margin) < wanted:
            raise ValueError(f"the test split has {len(margin)} rows of label {label}, {wanted} wanted")
        # A stable sort keeps test-split order among equal margins.
        picked.extend(margin.sort_values(ascending=False, kind="stable").index[:wanted])
    return test[test.index.isin(picked)]


def heldout_document(rows):
    """The held-out file's content for the DataFrame ``rows`` (features + target)."""
    features = rows[schema.FEATURES]
    return {
        "description": "rows of the test split with their true labels, for the deploy smoke test",
        "labels": [int(label) for label in rows[schema.TARGET]],
        "label_names": {str(label): name for label, name in schema.LABELS.items()},
        "dataframe_split": {"columns": schema.FEATURES, "data": features.values.tolist()},
        "v2_request": {
            "parameters": {"content_type": "pd"},
            "inputs": [
                {"name": column, "datatype": "FP64", "shape": [len(features)], "data": features[column].tolist()}
                for column in schema.FEATURES
            ],
        },
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", default=paths.RAW_DATA)
    args = parser.parse_args(argv)
    cfg = params_mod.load()["split"]
    frame = pd.read_csv(args.raw)
    train, test = split(frame, seed=cfg["seed"], test_size=cfg["test_size"])
    try:
        heldout = heldout_rows(train, test, cfg["heldout_rows"])
    except ValueError as err:
        print(f"ERROR: split.heldout_rows: {err}", file=sys.stderr)
        return 1
    os.makedirs(os.path.dirname(paths.TRAIN_DATA), exist_ok=True)
    train.to_csv(paths.TRAIN_DATA, index=False)
    test.to_csv(paths.TEST_DATA, index=False)
    with open(paths.HELDOUT, "w", encoding="utf-8") as handle:
        json.dump(heldout_document(heldout), handle, indent=1)
        handle.write("\n")
    print(f"train {len(train)} rows, test {len(test)} rows, held-out {len(heldout)} rows (seed {cfg['seed']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
