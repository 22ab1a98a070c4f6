"""Stage `validate`: check the raw data against the schema; fail the pipeline on bad data.

    python -m breast_cancer.validate [CSV] [--report PATH]
"""

import argparse
import json
import os
import sys

import pandas as pd

from breast_cancer import paths, schema


class DataValidationError(Exception):
    """The data broke the schema; the message lists every problem."""


def validate_csv(path):
    """Validate a CSV file; return a summary dict, or raise DataValidationError."""
    frame = pd.read_csv(path)
    found = schema.problems(frame)
    if found:
        lines = "\n".join(f"  - {problem}" for problem in found)
        raise DataValidationError(f"data validation failed for {path} ({len(found)} problem(s)):\n{lines}")
    counts = frame[schema.TARGET].value_counts().sort_index()
    return {
        "path": path,
        "status": "passed",
        "rows": int(len(frame)),
        "columns": int(frame.shape[1]),
        "label_counts": {schema.LABELS[int(label)]: int(count) for label, count in counts.items()},
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="?", default=paths.RAW_DATA)
    parser.add_argument("--report", default=paths.VALIDATION_REPORT, help="summary written when the data is valid")
    args = parser.parse_args(argv)
    try:
        summary = validate_csv(args.csv)
    except DataValidationError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 1
    os.makedirs(os.path.dirname(args.report) or ".", exist_ok=True)
    with open(args.report, "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2, sort_keys=True)
        handle.write("\n")
    print(f"{args.csv}: {summary['rows']} rows valid, labels {summary['label_counts']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
