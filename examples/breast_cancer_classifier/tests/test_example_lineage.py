"""Lineage: git commit, DVC data hash and the params/code fingerprint."""

import subprocess

import pytest
import yaml

from breast_cancer import lineage, set_params


def test_params_hash_is_stable_across_copies(tmp_path, monkeypatch, make_copy):
    hashes = []
    for name in ("a", "b"):
        monkeypatch.chdir(make_copy(tmp_path / name))
        hashes.append(lineage.params_hash(package_dir=str(tmp_path / name / "breast_cancer")))
    assert hashes[0] == hashes[1] and len(hashes[0]) == 64


def test_params_hash_ignores_comments_but_not_values(project_copy):
    package = str(project_copy / "breast_cancer")
    before = lineage.params_hash(package_dir=package)
    text = (project_copy / "params.yaml").read_text()
    (project_copy / "params.yaml").write_text("# another comment\n" + text)
    assert lineage.params_hash(package_dir=package) == before
    set_params.set_params(["model.max_depth=3"])
    changed = lineage.params_hash(package_dir=package)
    assert changed != before
    (project_copy / "breast_cancer" / "model.py").write_text((project_copy / "breast_cancer" / "model.py").read_text() + "\n# edit\n")
    assert lineage.params_hash(package_dir=package) not in (before, changed)


def test_git_commit_outside_git(tmp_path, monkeypatch):
    monkeypatch.delenv("GIT_COMMIT", raising=False)
    assert lineage.git_commit(cwd=str(tmp_path)) == "unknown"
    monkeypatch.setenv("GIT_COMMIT", "0123abc")
    assert lineage.git_commit(cwd=str(tmp_path)) == "0123abc"


def test_git_commit_inside_git(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_COMMIT", "from-env")
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid", "-c", "commit.gpgsign=false"]
    subprocess.run(git + ["init", "-q", str(tmp_path)], check=True)
    (tmp_path / "file").write_text("x")
    subprocess.run(git + ["-C", str(tmp_path), "add", "file"], check=True)
    subprocess.run(git + ["-C", str(tmp_path), "commit", "-q", "-m", "one"], check=True)
    head = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    assert lineage.git_commit(cwd=str(tmp_path)) == head


def test_dvc_hash_reads_the_lock_and_checks_it(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n")
    actual = lineage.file_md5(str(data))
    lock = tmp_path / "dvc.lock"
    lock.write_text(yaml.safe_dump({"schema": "2.0", "stages": {"s": {"outs": [{"path": str(data), "md5": actual}]}}}))
    assert lineage.lock_md5(str(data), str(lock)) == actual
    assert lineage.dvc_hash(str(data), str(lock)) == actual
    data.write_text("a,b\n1,3\n")  # the file changed after the lock was written: trust the file
    assert lineage.dvc_hash(str(data), str(lock)) == lineage.file_md5(str(data)) != actual
    assert lineage.lock_md5(str(data), str(tmp_path / "absent.lock")) is None


@pytest.mark.usefixtures("project_copy")
def test_lineage_cli(capsys, monkeypatch):
    monkeypatch.setenv("GIT_COMMIT", "feedbeef")
    assert lineage.main() == 0
    printed = capsys.readouterr().out
    assert '"git_commit": "feedbeef"' in printed and '"dvc_data_hash": null' in printed
    assert lineage.params_hash() in printed
