"""Training helpers: what is copied and hashed, the lineage, failure excerpts, and stopping the command with Ansible."""

import os
import subprocess
import sys
import time

import pytest

from ansible_collections.mlops.platform.plugins.module_utils import _process
from ansible_collections.mlops.platform.plugins.module_utils import _rollout_train as t

EXCLUDE = [".git", "__pycache__", "data", ".dvc/cache", "*.log"]


@pytest.fixture
def project(tmp_path):
    for rel, text in {"train.py": "print(1)\n", "pkg/model.py": "x = 1\n", "data/raw.csv": "a\n", ".dvc/config": "[core]\n",
                      ".dvc/cache/ab/cd": "blob", "pkg/__pycache__/m.pyc": "c", "run.log": "noise",
                      "nested/data/keep.txt": "excluded too: 'data' matches a name at any depth"}.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_project_files_skip_excluded_paths_and_names(project):
    assert t.project_files(str(project), EXCLUDE) == [".dvc/config", "pkg/model.py", "train.py"]


def test_excluded_matches_a_path_prefix_or_a_name():
    assert t.excluded(".dvc/cache/x", [".dvc/cache"])
    assert not t.excluded(".dvc/config", [".dvc/cache"])
    assert t.excluded("a/b/__pycache__/c.pyc", ["__pycache__"])
    assert not t.excluded("src/dvc/cache.py", [".dvc/cache"])


def test_hash_changes_with_content_and_name_but_not_with_excluded_files(project):
    files = t.project_files(str(project), EXCLUDE)
    first = t.hash_files(str(project), files)
    (project / "data" / "raw.csv").write_text("changed, but excluded\n")
    assert t.hash_files(str(project), t.project_files(str(project), EXCLUDE)) == first
    (project / "train.py").write_text("print(2)\n")
    assert t.hash_files(str(project), t.project_files(str(project), EXCLUDE)) != first


def test_deep_merge_keeps_unrelated_keys():
    assert t.deep_merge({"model": {"a": 1, "b": 2}, "x": 1}, {"model": {"b": 3}}) == {"model": {"a": 1, "b": 3}, "x": 1}


def test_failure_excerpt_keeps_error_lines_and_their_bullets():
    out = ("Running stage 'validate':\n> python -m v\nERROR: data validation failed (2 problem(s)):\n"
           "  - column a: 3 null value(s) in row(s) 0, 1, 2\n  - column b: dtype is object\nsome noise\n"
           "ERROR: failed to reproduce 'validate': exited with 1\n")
    assert t.failure_excerpt(out) == (
        "ERROR: data validation failed (2 problem(s)): | - column a: 3 null value(s) in row(s) 0, 1, 2 | "
        "- column b: dtype is object | ERROR: failed to reproduce 'validate': exited with 1")
    assert t.last_stage(out) == "validate"
    assert t.failure_excerpt("just\nthe last\nlines\n") == "just | the last | lines"


def test_detect_kind(project, tmp_path):
    (project / "dvc.yaml").write_text("stages: {}\n")
    assert t.detect_kind(str(project), None) == "dvc"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(t.MlflowInvalidParameterError) as err:
        t.detect_kind(str(empty), None)
    assert str(err.value).startswith("kind=auto cannot tell how to train %s: it has no dvc.yaml and no MLproject" % empty)
    assert t.detect_kind(str(empty), ["python", "train.py"]) == "command"


def test_flat_joins_nested_keys_with_dots():
    assert t._flat({"model": {"depth": 3}, "seed": 1}) == {"model.depth": 3, "seed": 1}


def test_gone_names_the_first_ancestor_that_exited():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        chain = [(child.pid, _process.start_time(child.pid))]
        assert _process.gone(chain) is None
    finally:
        child.kill()
        child.wait()
    assert _process.gone(chain) == chain[0]
    assert not _process.alive(child.pid, chain[0][1])


def test_a_reused_pid_is_not_the_same_process():
    me = os.getpid()
    assert _process.alive(me, _process.start_time(me))
    assert not _process.alive(me, _process.start_time(me) + 1)


def test_stop_ends_the_whole_process_group(tmp_path):
    marker = tmp_path / "grandchild.pid"
    script = ("import os, subprocess, sys, time; p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
              "open(%r, 'w').write(str(p.pid)); time.sleep(60)" % str(marker))
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    deadline = time.time() + 20
    while not marker.exists() or not marker.read_text():
        assert time.time() < deadline, "the grandchild never started"
        time.sleep(0.05)
    grandchild = int(marker.read_text())
    t._stop(proc)
    assert proc.returncode is not None
    deadline = time.time() + 10
    while _process.start_time(grandchild) is not None:
        try:
            os.waitpid(grandchild, os.WNOHANG)
        except ChildProcessError:
            pass
        with open("/proc/%d/stat" % grandchild) if os.path.exists("/proc/%d/stat" % grandchild) else open(os.devnull) as handle:
            if ") Z " in handle.read():
                break  # a zombie waiting for init: it has exited
        assert time.time() < deadline, "the grandchild survived the stop"
        time.sleep(0.05)
