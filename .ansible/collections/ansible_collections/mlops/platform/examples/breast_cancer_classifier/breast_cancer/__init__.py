"""Breast-cancer classifier: the example model project of the mlops.platform collection.

Each stage of dvc.yaml is a module of this package run with ``python -m breast_cancer.<stage>``
from the project directory (the directory that holds dvc.yaml and params.yaml).
"""
