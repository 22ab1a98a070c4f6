"""The contract of the raw data: columns, dtypes, ranges and labels, as a pandera schema.

``problems(frame)`` returns one readable line per problem (empty when the data is good);
the ``validate`` stage prints them and fails the pipeline.
"""

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

TARGET = "target"
LABELS = {0: "malignant", 1: "benign"}

# The ten cell-nucleus measurements of the Wisconsin diagnostic data set, each with a generous
# physical ceiling for its mean, its standard error and its worst (largest) value. Every
# measurement is a length, an area or a ratio, so none can be negative.
_MEASUREMENTS = (
    ("radius", 50.0, 10.0, 60.0),
    ("texture", 80.0, 20.0, 100.0),
    ("perimeter", 350.0, 60.0, 450.0),
    ("area", 6000.0, 1500.0, 8000.0),
    ("smoothness", 0.5, 0.1, 0.5),
    ("compactness", 1.0, 0.5, 2.0),
    ("concavity", 1.5, 1.0, 2.5),
    ("concave_points", 0.5, 0.2, 0.6),
    ("symmetry", 0.7, 0.2, 1.2),
    ("fractal_dimension", 0.2, 0.06, 0.4),
)

# Column order of scikit-learn's load_breast_cancer: all means, then all errors, then all worsts.
BOUNDS = {
    pattern.format(measurement[0]): measurement[position + 1]
    for position, pattern in enumerate(("mean_{}", "{}_error", "worst_{}"))
    for measurement in _MEASUREMENTS
}
FEATURES = list(BOUNDS)
COLUMNS = FEATURES + [TARGET]


_ALL_LABELS = pa.Check(
    lambda series: set(series.dropna().unique()) >= set(LABELS),
    element_wise=False,
    name="all_labels_present",
)

SCHEMA = pa.DataFrameSchema(
    columns={
        **{name: pa.Column("float64", pa.Check.in_range(0.0, upper), nullable=False) for name, upper in BOUNDS.items()},
        TARGET: pa.Column("int64", [pa.Check.isin(sorted(LABELS)), _ALL_LABELS], nullable=False),
    },
    strict=True,
    name="breast_cancer_raw",
)


def _rows(cases, limit=5):
    rows = sorted({int(i) for i in cases["index"] if pd.notna(i)})
    shown = ", ".join(str(r) for r in rows[:limit])
    return f"{shown}, ..." if len(rows) > limit else shown


def _describe(column, check, cases, frame):
    """One message for the failures of one check on one column."""
    count = len(cases)
    if check.startswith("dtype("):
        return f"column {column}: dtype is {frame[column].dtype}, expected {SCHEMA.columns[column].dtype}"
    if check == "not_nullable":
        return f"column {column}: {count} null value(s) in row(s) {_rows(cases)}"
    if check.startswith("in_range("):
        values = ", ".join(f"{v:g}" for v in cases["failure_case"][:5])
        return f"column {column}: {count} value(s) outside [0, {BOUNDS[column]:g}]: {values} in row(s) {_rows(cases)}"
    if check.startswith("isin("):
        labels = sorted({str(v) for v in cases["failure_case"]})
        return f"column {column}: label(s) {', '.join(labels)} not in {sorted(LABELS)} in row(s) {_rows(cases)}"
    if check == "all_labels_present":
        found = sorted(int(v) for v in frame[column].dropna().unique())
        return f"column {column}: expected every label of {sorted(LABELS)}, found {found}"
    return f"column {column}: failed {check} ({count} case(s))"


def problems(frame):
    """Validate ``frame`` against SCHEMA; return a list of problem descriptions (empty if valid)."""
    try:
        SCHEMA.validate(frame, lazy=True)
    except SchemaErrors as err:
        cases = err.failure_cases
    else:
        return []
    found = []
    frame_level = cases[cases["schema_context"] == "DataFrameSchema"]
    for case in frame_level.to_dict("records"):
        if case["check"] == "column_in_dataframe":
            found.append(f"missing column: {case['failure_case']}")
        elif case["check"] == "column_in_schema":
            found.append(f"unexpected column: {case['failure_case']}")
        else:
            found.append(f"data frame: failed {case['check']}: {case['failure_case']}")
    column_level = cases[cases["schema_context"] == "Column"]
    # A column of the wrong dtype fails its value checks too (comparing text with numbers);
    # report the dtype and nulls alone, they are the cause.
    wrong_dtype = {c for c, chk in zip(column_level["column"], column_level["check"]) if str(chk).startswith("dtype(")}
    for (column, check), group in column_level.groupby(["column", "check"], sort=False):
        if column in wrong_dtype and not str(check).startswith(("dtype(", "not_nullable")):
            continue
        found.append(_describe(column, str(check), group, frame))
    return sorted(found, key=_sort_key)


def _sort_key(message):
    """Stable order: frame-level problems first, then by column order of the schema."""
    for position, column in enumerate(COLUMNS):
        if message.startswith(f"column {column}:"):
            return (1, position, message)
    return (0, 0, message)
