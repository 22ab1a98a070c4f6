"""Where a model comes from: code version, data version and a fingerprint of params + code.

    python -m breast_cancer.lineage     # prints the three as JSON, without training

* ``git_commit``: ``git rev-parse HEAD`` when the project sits in a git work tree, else the
  environment variable GIT_COMMIT (set it when running from a copy), else ``unknown``.
* ``dvc_data_hash``: the md5 DVC recorded in dvc.lock for data/raw/breast_cancer.csv, so the
  exact raw data can be fetched again with ``dvc pull``. When the lock has no entry for it, or
  the entry no longer matches the file (a stage run by hand), the md5 of the file itself, which
  is what DVC records for a file.
* ``params_hash``: sha256 of params.yaml (parsed, so comments and layout do not count),
  dvc.yaml and every module of this package, so two runs with the same hash ran the same
  pipeline definition and code.
"""

import hashlib
import json
import os
import subprocess
import sys

import yaml

from breast_cancer import params as params_mod
from breast_cancer import paths

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def git_commit(cwd="."):
    """The commit of the git work tree holding ``cwd``, else env GIT_COMMIT, else 'unknown'."""
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=False, timeout=10)
    except (OSError, subprocess.SubprocessError):
        result = None
    if result is not None and result.returncode == 0 and result.stdout.strip():
        return result.stdout.strip()
    return os.environ.get("GIT_COMMIT") or "unknown"


def file_md5(path):
    """md5 of a file's bytes (what DVC 3 records for a file output)."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def lock_md5(path, lock=paths.DVC_LOCK):
    """The md5 dvc.lock records for output ``path`` of any stage, or None."""
    if not os.path.exists(lock):
        return None
    with open(lock, encoding="utf-8") as handle:
        content = yaml.safe_load(handle) or {}
    for stage in (content.get("stages") or {}).values():
        for out in stage.get("outs") or []:
            if out.get("path") == path:
                return out.get("md5")
    return None


def dvc_hash(path, lock=paths.DVC_LOCK):
    """The DVC md5 of a data file: from dvc.lock when it matches the file, else the file's own md5."""
    actual = file_md5(path)
    recorded = lock_md5(path, lock)
    return recorded if recorded == actual else actual


def params_hash(params_path=paths.PARAMS, pipeline_path="dvc.yaml", package_dir=PACKAGE_DIR):
    """Stable sha256 over the parsed params, the pipeline definition and the package's code."""
    digest = hashlib.sha256()
    parsed = json.dumps(params_mod.load(params_path), sort_keys=True, separators=(",", ":"))
    digest.update(b"params.yaml\0" + parsed.encode() + b"\0")
    with open(pipeline_path, "rb") as handle:
        digest.update(b"dvc.yaml\0" + hashlib.sha256(handle.read()).hexdigest().encode() + b"\0")
    for name in sorted(os.listdir(package_dir)):
        if name.endswith(".py"):
            with open(os.path.join(package_dir, name), "rb") as handle:
                code = hashlib.sha256(handle.read()).hexdigest()
            digest.update(f"breast_cancer/{name}\0{code}\0".encode())
    return digest.hexdigest()


def describe():
    """The lineage of the project as it is on disk now."""
    return {
        "git_commit": git_commit(),
        "dvc_data_hash": dvc_hash(paths.RAW_DATA) if os.path.exists(paths.RAW_DATA) else None,
        "params_hash": params_hash(),
    }


def main():
    json.dump(describe(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
