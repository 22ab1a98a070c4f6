"""Stage `materialize`: write scikit-learn's breast-cancer data set to data/raw as CSV.

The data ships inside scikit-learn, so nothing is downloaded. The CSV is a DVC output: DVC
caches it, records its md5 in dvc.lock and pushes it to the remote with the other outputs.

``data.corruption`` in params.yaml deliberately breaks the written data so that the
``validate`` stage can be seen to fail; see CORRUPTIONS.
"""

import argparse
import os
import sys

import numpy as np
from sklearn.datasets import load_breast_cancer

from breast_cancer import params as params_mod
from breast_cancer import paths, schema


def load_frame():
    """The data set as a DataFrame with snake_case feature columns and an int64 `target` column."""
    frame = load_breast_cancer(as_frame=True).frame
    frame.columns = [column.replace(" ", "_") for column in frame.columns]
    if list(frame.columns) != schema.COLUMNS:
        raise RuntimeError(f"scikit-learn's breast-cancer columns changed: {list(frame.columns)}")
    return frame.astype({schema.TARGET: "int64"})


def _missing_column(frame):
    return frame.drop(columns=["mean_radius"])


def _wrong_dtype(frame):
    frame = frame.astype({"mean_texture": "object"})
    frame.loc[0, "mean_texture"] = "17.99mm"
    return frame


def _nulls(frame):
    frame.loc[0:2, "mean_smoothness"] = np.nan
    return frame


def _out_of_range(frame):
    frame.loc[0, "mean_area"] = -1.0
    frame.loc[1, "mean_area"] = 99999.0
    return frame


def _bad_label(frame):
    frame.loc[[0, 5], schema.TARGET] = 2
    return frame


# Each corruption changes fixed rows so that the failure message is always the same.
CORRUPTIONS = {
    "none": lambda frame: frame,
    "missing_column": _missing_column,
    "wrong_dtype": _wrong_dtype,
    "nulls": _nulls,
    "out_of_range": _out_of_range,
    "bad_label": _bad_label,
}


def corrupt(frame, kind):
    """Return ``frame`` broken the way ``kind`` names (a copy; ``none`` returns it as is)."""
    if kind not in CORRUPTIONS:
        raise ValueError(f"data.corruption must be one of {', '.join(CORRUPTIONS)}, got {kind!r}")
    return CORRUPTIONS[kind](frame.copy())


def shift(frame, drift):
    """Return ``frame`` with every ``worst_*`` feature multiplied by 1 + ``drift`` (a copy; 0 returns it as is)."""
    if not isinstance(drift, (int, float)) or isinstance(drift, bool) or not -1.0 < drift <= 5.0:
        raise ValueError(f"data.drift must be a number above -1 and at most 5, got {drift!r}")
    if drift == 0:
        return frame
    shifted = frame.copy()
    worst = [column for column in shifted.columns if column.startswith("worst_")]
    shifted[worst] = shifted[worst] * (1.0 + drift)
    return shifted


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=paths.RAW_DATA, help="the CSV to write; - prints it")
    parser.add_argument("--drift", type=float, default=None, help="overrides data.drift of params.yaml")
    args = parser.parse_args(argv)
    data = params_mod.load()["data"]
    kind = data["corruption"]
    drift = data.get("drift", 0.0) if args.drift is None else args.drift
    try:
        frame = shift(corrupt(load_frame(), kind), drift)
    except ValueError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 1
    if args.out == "-":
        frame.to_csv(sys.stdout, index=False)
        return 0
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    frame.to_csv(args.out, index=False)
    notes = ([] if kind == "none" else [f"deliberately corrupted: {kind}"]) + ([f"shifted: drift {drift}"] if drift else [])
    note = f" ({'; '.join(notes)})" if notes else ""
    print(f"wrote {len(frame)} rows x {frame.shape[1]} columns to {args.out}{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
