"""The data: scikit-learn's wine data set, a stratified split, and the rows logged as input example.

178 wines from three cultivars, 13 chemical measurements each. It ships inside scikit-learn,
so nothing is downloaded. Column names are scikit-learn's, except that
``od280/od315_of_diluted_wines`` is renamed ``od280_od315_of_diluted_wines`` (no ``/`` in an
input name a serving request has to carry).
"""

from sklearn.datasets import load_wine
from sklearn.model_selection import train_test_split

TARGET = "cultivar"
FEATURES = [
    "alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols", "flavanoids",
    "nonflavanoid_phenols", "proanthocyanins", "color_intensity", "hue", "od280_od315_of_diluted_wines", "proline",
]
LABELS = (0, 1, 2)
EXAMPLE_ROWS_PER_LABEL = 2


def load_frame():
    """The whole data set as one DataFrame: the 13 float64 feature columns, then ``cultivar`` (int64, 0-2)."""
    bunch = load_wine(as_frame=True)
    renamed = {"od280/od315_of_diluted_wines": "od280_od315_of_diluted_wines", "target": TARGET}
    frame = bunch.frame.rename(columns=renamed)
    return frame[FEATURES + [TARGET]]


def split(frame, seed, test_size):
    """A stratified (train, test) split of ``frame``; the same seed gives the same rows."""
    return train_test_split(frame, test_size=test_size, random_state=seed, stratify=frame[TARGET])


def input_example(test):
    """The first EXAMPLE_ROWS_PER_LABEL rows of each label in the test split (features only, label order)."""
    rows = test.groupby(TARGET, sort=True).head(EXAMPLE_ROWS_PER_LABEL).sort_values(TARGET, kind="stable")
    return rows[FEATURES], rows[TARGET]
