"""The execution environment: `ansible-builder create` on execution-environment.yml (the documented commands), and the
build context it writes checked file by file - the collection tarball, the pinned requirements, the Containerfile.
No image is built: there is no container runtime here."""

import json
import os
import re
import subprocess
import sys
import tarfile

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = os.path.dirname(sys.executable)
EE_FILE = os.path.join(ROOT, "execution-environment.yml")
# Where the definition's additional_build_files expects the tarball (relative to the EE file).
TARBALL_DIR = os.path.join(ROOT, ".cache", "ee", "collection")
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[a-z0-9,]+\])?==([0-9][0-9A-Za-z.]*)$")


def load_yaml(path):
    with open(path) as handle:
        return yaml.safe_load(handle)


def run(cmd, **kwargs):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False, **kwargs)
    assert proc.returncode == 0, "%s exited %d:\n%s\n%s" % (" ".join(cmd), proc.returncode, proc.stdout, proc.stderr)
    return proc


def toolchain_pins():
    """The pins of the test toolchain that the EE must match (the same ansible-core the tests run)."""
    pins = {}
    with open(os.path.join(ROOT, "requirements-test.txt")) as handle:
        for line in handle:
            line = line.split("#", 1)[0].strip()
            if "==" in line and ('python_version >= "3.12"' in line or ";" not in line):
                name, version = line.split(";", 1)[0].strip().split("==")
                pins[name.split("[")[0].lower()] = version
    return pins


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    """The build context of the documented commands: collection build, then ansible-builder create."""
    galaxy = load_yaml(os.path.join(ROOT, "galaxy.yml"))
    tarball = os.path.join(TARBALL_DIR, "%s-%s-%s.tar.gz" % (galaxy["namespace"], galaxy["name"], galaxy["version"]))
    run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--force", "--output-path", TARBALL_DIR, ROOT])
    assert os.path.isfile(tarball)
    out = str(tmp_path_factory.mktemp("ee") / "context")
    proc = run([os.path.join(BIN, "ansible-builder"), "create", "-f", EE_FILE, "-c", out,
                "--output-filename", "Containerfile"], cwd=ROOT)
    assert "Complete! The build context can be found at: %s" % out in proc.stdout
    # A missing collection tarball is only a warning to ansible-builder; here it is an error.
    assert "No matches" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    return {"dir": out, "build": os.path.join(out, "_build"), "galaxy": galaxy, "tarball": os.path.basename(tarball)}


def test_definition_is_version_3_with_a_pinned_base_image_and_core():
    ee = load_yaml(EE_FILE)
    assert ee["version"] == 3
    base = ee["images"]["base_image"]["name"]
    assert re.match(r"^[a-z0-9.-]+/[a-z0-9/._-]+(:[A-Za-z0-9._-]+|@sha256:[0-9a-f]{64})$", base), base
    assert not base.endswith(":latest")
    pins = toolchain_pins()
    assert ee["dependencies"]["ansible_core"]["package_pip"] == "ansible-core==%s" % pins["ansible-core"]
    assert ee["dependencies"]["ansible_runner"]["package_pip"] == "ansible-runner==%s" % pins["ansible-runner"]


def test_containerfile_installs_the_pinned_core_the_collections_and_the_requirements(context):
    with open(os.path.join(context["dir"], "Containerfile")) as handle:
        text = handle.read()
    ee = load_yaml(EE_FILE)
    assert 'ARG EE_BASE_IMAGE="%s"' % ee["images"]["base_image"]["name"] in text
    pins = toolchain_pins()
    assert 'ARG ANSIBLE_INSTALL_REFS="ansible-core==%s ansible-runner==%s"' % (
        pins["ansible-core"], pins["ansible-runner"]) in text
    assert 'ARG PYCMD="/usr/bin/python3.12"' in text
    assert "COPY _build /build" in text
    assert 'ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml' in text
    assert "--user-pip=requirements.txt --user-bindep=bindep.txt" in text
    # The image checks itself at build time: the tools the steps need and this collection are there.
    assert "RUN git --version && dvc --version && ansible-galaxy collection list mlops.platform" in text
    assert "ENV HOME=/runner ANSIBLE_LOCAL_TEMP=/tmp/.ansible-local" in text
    assert text.rstrip().endswith('CMD ["bash"]')


def test_the_collection_tarball_is_in_the_context_and_is_this_collection(context):
    path = os.path.join(context["build"], "collections", context["tarball"])
    assert os.path.isfile(path), os.listdir(context["build"])
    with tarfile.open(path) as tar:
        names = set(tar.getnames())
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    info = manifest["collection_info"]
    galaxy = context["galaxy"]
    assert (info["namespace"], info["name"], info["version"]) == (galaxy["namespace"], galaxy["name"], galaxy["version"])
    for needed in ("playbooks/train.yml", "playbooks/test.yml", "playbooks/deploy.yml", "playbooks/rollback.yml",
                   "playbooks/platform.yml", "roles/model_rollout/tasks/train.yml", "plugins/modules/mlflow_model_rollout.py",
                   "plugins/module_utils/_mlflow_client.py", "meta/runtime.yml"):
        assert needed in names, needed
    leaked = sorted(n for n in names if n.startswith((".cache", ".venv", ".git/", "tests/rollout", "tests/unit")))
    assert leaked == []


def test_galaxy_requirements_name_the_tarball_and_pin_every_collection(context):
    reqs = load_yaml(os.path.join(context["build"], "requirements.yml"))["collections"]
    files = [r for r in reqs if r.get("type") == "file"]
    assert files == [{"name": "collections/%s" % context["tarball"], "type": "file"}], (
        "execution-environment.yml must install the tarball of galaxy.yml's version (%s)" % context["tarball"])
    others = dict((r["name"], r.get("version")) for r in reqs if r.get("type") != "file")
    declared = [c["name"] for c in load_yaml(os.path.join(ROOT, "requirements.yml"))["collections"]]
    # Every collection the roles use is in the image (awx.awx is for the controller that creates AWX objects).
    assert sorted(others) == sorted(n for n in declared if n != "awx.awx")
    for name, version in others.items():
        assert version and re.match(r"^[0-9]+\.[0-9]+\.[0-9]+$", str(version)), (name, version)
    # The pins are the versions the tests run with (the copies the ansible package bundles).
    proc = run([os.path.join(BIN, "ansible-galaxy"), "collection", "list", "--format", "json"])
    installed = {}
    for found in json.loads(proc.stdout).values():
        for name, meta in found.items():
            installed.setdefault(name, meta["version"])
    for name, version in others.items():
        assert installed.get(name) == version, "%s: the EE pins %s, the tests run %s" % (name, version, installed.get(name))


def test_python_requirements_are_pinned_and_mlflow_free(context):
    with open(os.path.join(context["build"], "requirements.txt")) as handle:
        lines = [line.strip() for line in handle if line.strip() and not line.startswith("#")]
    parsed = {}
    for line in lines:
        match = PIN.match(line)
        assert match, "not pinned with ==: %r" % line
        parsed[match.group(1).lower()] = match.group(3)
    assert {"kubernetes", "dvc", "dvc-s3", "jsonpatch", "requests-oauthlib"} <= set(parsed)
    assert not [name for name in parsed if name.startswith("mlflow")], "the modules speak REST: no MLflow SDK in the EE"
    pins = toolchain_pins()
    for name in ("kubernetes", "dvc"):
        assert parsed[name] == pins[name], "%s: the EE pins %s, the tests run %s" % (name, parsed[name], pins[name])


def test_system_requirements_have_git_for_both_package_families(context):
    with open(os.path.join(context["build"], "bindep.txt")) as handle:
        lines = [line.strip() for line in handle if line.strip()]
    assert "git-core [platform:rpm]" in lines
    assert "git [platform:dpkg]" in lines
    bindep = os.path.join(BIN, "bindep")
    # bindep itself parses the file (a syntax error would only show in the image build).
    proc = subprocess.run([bindep, "--file", os.path.join(context["build"], "bindep.txt"), "--brief"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert "Error" not in proc.stderr, proc.stderr
    assert proc.returncode in (0, 1), proc.stderr
