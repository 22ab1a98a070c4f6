"""The validator is Tekton's own validation: it passes a valid set and names each mistake of a broken one."""

import os
import subprocess

import yaml

from conftest import HERE, validate

FIXTURES = os.path.join(HERE, "fixtures")


def by_name(results):
    return dict(("%s/%s" % (r["kind"], r["name"]), r) for r in results)


def test_valid_objects_pass(validator):
    rc, results, _err = validate(validator, os.path.join(FIXTURES, "valid.yaml"))
    assert rc == 0
    assert sorted((k, r["status"]) for k, r in by_name(results).items()) == [
        ("Pipeline/cd4ml", "ok"),
        ("Pipeline/cd4ml (references)", "ok"),
        ("PipelineRun/cd4ml.spec.resourcetemplates[0]", "ok"),
        ("PipelineRun/cd4ml.spec.resourcetemplates[0] (references)", "ok"),
        ("Task/say", "ok"),
        ("TriggerTemplate/cd4ml", "ok"),
    ]


def test_broken_objects_fail_with_tektons_messages(validator):
    rc, results, _err = validate(validator, os.path.join(FIXTURES, "broken.yaml"))
    assert rc == 1
    found = by_name(results)
    assert found["Pipeline/broken-pipeline"]["status"] == "invalid"
    assert found["Pipeline/broken-pipeline"]["message"] == (
        "invalid value: couldn't add link between build and ghost: task build depends on ghost but ghost wasn't "
        "present in Pipeline: spec.tasks; "
        'non-existent variable in "$(params.undeclared)": spec.tasks[0].params[url]')
    assert found["Task/broken-task"]["message"] == (
        'missing field(s): spec.steps[0].Image; non-existent variable in "echo $(params.nope)": spec.steps[0].script')
    assert found["TriggerTemplate/broken-template"]["message"] == (
        "invalid value: undeclared param '$(tt.params.revison)': spec.resourcetemplates[0]; "
        "'$(tt.params.revison)' must be declared in spec.params")
    # The template itself is valid; the PipelineRun inside it is checked after the params are put in.
    assert found["TriggerTemplate/broken-run"]["status"] == "ok"
    assert found["PipelineRun/broken-run.spec.resourcetemplates[0]"]["message"] == (
        "expected exactly one, got both: spec.pipelineRef, spec.pipelineSpec")


def test_cross_references_between_given_objects(validator, tmp_path):
    """What only the reconcilers would find: a missing required param, an unbound workspace, an unknown result."""
    with open(os.path.join(FIXTURES, "valid.yaml")) as handle:
        objects = yaml.safe_load(handle)
    pipeline = next(o for o in objects["items"] if o["kind"] == "Pipeline")
    pipeline["spec"]["tasks"][1]["params"] = []
    pipeline["spec"]["finally"][0]["params"][0]["value"] = "$(tasks.say.results.told)"
    text = yaml.safe_dump(objects)
    path = tmp_path / "refs.yaml"
    path.write_text(text)
    rc, results, _err = validate(validator, str(path))
    assert rc == 1
    assert by_name(results)["Pipeline/cd4ml (references)"]["message"] == (
        'pipeline task say: missing param "word" that Task say requires; '
        'pipeline task report: task say declares no result "told"')


def test_usage_and_read_errors_exit_2(validator):
    proc = subprocess.run([validator], capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and "usage:" in proc.stderr
    proc = subprocess.run([validator, "/nonexistent/objects.yaml"], capture_output=True, text=True, check=False)
    assert (proc.returncode, proc.stderr.strip()) == (
        2, "tekton-validate: /nonexistent/objects.yaml: open /nonexistent/objects.yaml: no such file or directory")
