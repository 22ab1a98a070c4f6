"""MLflow on PostgreSQL + S3 as the mlflow role runs it on a cluster, its backups and its restore, for real.

The scenario is built once by session fixtures (conftest.py): the migration pod, the server, two runs logged by
MLflow's client, versions and aliases set through the collection's modules, a backup to a claim and to S3, a
restore of each into a fresh database, a server on the restored database. Each test asserts one part of it.
"""

import json
import os
import re
import subprocess
import sys
import tempfile

import pytest

from conftest import BUCKET, MODEL, Server, read_registry

NOTE = "run %d of the platform tier: artifacts through the MLflow server into S3\n"
DUMP = re.compile(r"^mlflow-scheduled-\d{8}T\d{6}Z\.dump$")


def rows(pg, database):
    """The registry as PostgreSQL holds it: versions (name, version, source, run_id, tags) and aliases."""
    versions = pg.psql("select name, version, source, run_id, status from model_versions order by version", database)
    tags = pg.psql("select name, version, key, value from model_version_tags order by version, key", database)
    aliases = pg.psql("select name, alias, version from registered_model_aliases order by alias", database)
    return {"versions": versions.splitlines(), "tags": tags.splitlines(), "aliases": aliases.splitlines()}


def output(results):
    return "\n".join("[%s] rc=%s\n%s%s" % (name, p.returncode, p.stdout, p.stderr) for name, p in results.items())


@pytest.fixture(scope="session")
def claim_backup(platform, registry):
    """The backup CronJob's pod (mlflow_backup_target=pvc) run once: its output and the backup directory."""
    backup_dir = tempfile.mkdtemp(prefix="claim-", dir=platform.workdir)
    rendered = platform.rendered("mlflow", "pvc")
    results = platform.pod(rendered["backup_pod"]["spec"], "mlflow", platform.volumes("backup", rendered, backup_dir)).run()
    assert [(n, p.returncode) for n, p in results.items()] == [("backup", 0)], output(results)
    return {"dir": backup_dir, "results": results, "files": sorted(os.listdir(backup_dir))}


@pytest.fixture(scope="session")
def s3_backup(platform, registry):
    """The backup CronJob's pod with mlflow_backup_target=s3: pg_dump (init container), then the upload."""
    rendered = platform.rendered("mlflow", "s3")
    results = platform.pod(rendered["backup_pod"]["spec"], "mlflow", platform.volumes("backup-s3", rendered)).run()
    assert [(n, p.returncode) for n, p in results.items()] == [("backup", 0), ("upload", 0)], output(results)
    return results


@pytest.fixture(scope="session")
def restored(platform, claim_backup):
    """The restore Job's pod (latest dump of the claim) into the fresh database mlflow_restored, then a server on it."""
    rendered = platform.rendered("mlflow_restored", "pvc")
    spec = rendered["restore"][0]["spec"]["template"]["spec"]
    results = platform.pod(spec, "mlflow_restored", platform.volumes("restore", rendered, claim_backup["dir"])).run()
    assert [(n, p.returncode) for n, p in results.items()] == [("restore", 0), ("upgrade", 0)], output(results)
    server = Server(platform, "mlflow_restored").start()
    yield {"results": results, "server": server}
    server.stop()


def test_the_migration_pod_upgrades_the_empty_database_before_the_server_starts(platform, migrated, pg):
    import mlflow
    from alembic.script import ScriptDirectory
    head = ScriptDirectory(os.path.join(os.path.dirname(mlflow.__file__), "store", "db_migrations")).get_current_head()
    assert migrated["backup"].stdout == "backup: the database mlflow has no tables yet: nothing to back up\n"
    assert pg.psql("select version_num from alembic_version", "mlflow") == head


def test_the_server_runs_with_the_flags_the_role_renders(server, platform, s3):
    argv = server.argv
    assert argv[1] == "server"
    # The password (with @, :, / and % in it) reaches libpq as PGPASSWORD, never in the URI or the command line.
    assert argv[argv.index("--backend-store-uri") + 1] == "postgresql+psycopg2://mlflow@127.0.0.1:%d/mlflow" % platform.pg.port
    assert server.env["PGPASSWORD"] == platform.db_password
    assert not [arg for arg in argv if platform.db_password in arg]
    assert argv[argv.index("--artifacts-destination") + 1] == "s3://%s/mlflow" % BUCKET
    assert "--serve-artifacts" in argv
    assert argv[argv.index("--workers") + 1] == "1"
    assert argv[argv.index("--app-name") + 1] == "basic-auth"
    assert server.env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
    assert server.env["MLFLOW_S3_ENDPOINT_URL"] == s3.endpoint
    assert server.env["AWS_ACCESS_KEY_ID"] == s3.access_key
    # The basic-auth app keeps its users in the same PostgreSQL database (its own migration table).
    assert platform.pg.table_count("mlflow") > 0
    assert "alembic_version_auth" in platform.pg.psql("select tablename from pg_tables where schemaname = 'public'", "mlflow").split()


def test_the_server_refuses_requests_without_the_login(server):
    import urllib.error
    import urllib.request
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(server.uri + "/api/2.0/mlflow/registered-models/search", timeout=10)
    assert caught.value.code == 401


def test_artifacts_reach_s3_through_the_server_from_a_client_without_s3_credentials(registry, s3):
    logged = registry["logged"]
    assert logged["s3_settings"] == {"environment": [], "boto3_credentials": False}
    keys = s3.keys(BUCKET, "mlflow/")
    for index, run in enumerate(logged["runs"], 1):
        key = "mlflow/%s/%s/artifacts/notes/readme.txt" % (logged["experiment_id"], run)
        assert key in keys
        assert s3.client().get_object(Bucket=BUCKET, Key=key)["Body"].read().decode() == NOTE % index
    for model_id in logged["model_ids"]:
        assert "mlflow/%s/models/%s/artifacts/MLmodel" % (logged["experiment_id"], model_id) in keys
    # Without the keys the bucket is closed: the client could only have written through the server.
    import botocore
    from botocore.config import Config
    import boto3
    anonymous = boto3.client("s3", endpoint_url=s3.endpoint, region_name="us-east-1",
                             config=Config(signature_version=botocore.UNSIGNED, s3={"addressing_style": "path"}))
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        anonymous.list_objects_v2(Bucket=BUCKET)
    assert caught.value.response["Error"]["Code"] == "AccessDenied"


def test_the_modules_register_versions_and_aliases_on_postgres(registry):
    registered, read, logged = registry["registered"], registry["read"], registry["logged"]
    assert registered["model_changed"] is True
    assert registered["versions_changed"] == [True, True]
    assert [(v["version"], v["run_id"], v["source"], v["status"]) for v in registered["versions"]] == [
        ("1", logged["runs"][0], "models:/" + logged["model_ids"][0], "READY"),
        ("2", logged["runs"][1], "models:/" + logged["model_ids"][1], "READY")]
    assert registered["aliases_changed"] == [True, True]
    assert registered["aliases_again_changed"] == [False, False]
    assert read["aliases"] == {"champion": ["1"], "challenger": ["2"]}
    assert sorted((v["version"], v["tags"], v["aliases"]) for v in read["versions"]) == [
        ("1", {"gate": "baseline", "stage": "run-1"}, ["champion"]),
        ("2", {"gate": "passed", "stage": "run-2"}, ["challenger"])]


def test_the_backup_pod_writes_a_dump_to_the_claim(claim_backup, platform):
    assert len(claim_backup["files"]) == 1 and DUMP.match(claim_backup["files"][0]), claim_backup["files"]
    path = os.path.join(claim_backup["dir"], claim_backup["files"][0])
    assert claim_backup["results"]["backup"].stdout == "backup: wrote %s (%d bytes)\n" % (path, os.path.getsize(path))
    listing = subprocess.run([os.path.join(platform.pg_bindir, "pg_restore"), "--list", path],
                             capture_output=True, text=True, check=True).stdout
    for table in ("model_versions", "registered_model_aliases", "alembic_version", "users"):
        assert re.search(r"TABLE DATA public %s " % table, listing), table


def test_the_s3_backup_pod_uploads_the_dump_to_the_bucket(s3_backup, s3):
    line = s3_backup["backup"].stdout.strip()
    match = re.match(r"^backup: wrote (\S+)/(mlflow-scheduled-\d{8}T\d{6}Z\.dump) \((\d+) bytes\)$", line)
    assert match, line
    name, size = match.group(2), int(match.group(3))
    assert s3_backup["upload"].stdout == "backup_s3: uploaded %s to s3://%s/backups/%s\n" % (name, BUCKET, name)
    assert s3.keys(BUCKET, "backups/") == ["backups/" + name]
    assert s3.client().head_object(Bucket=BUCKET, Key="backups/" + name)["ContentLength"] == size


def test_a_restore_into_a_fresh_database_serves_the_same_versions_and_aliases(restored, registry, claim_backup, platform):
    assert restored["results"]["restore"].stdout == "restore: restored %s into mlflow_restored (it held 0 tables)\n" % (
        claim_backup["files"][0])
    after = read_registry(restored["server"], platform, "restored")
    assert after == registry["read"]
    assert after["aliases"] == {"champion": ["1"], "challenger": ["2"]}


def test_the_restored_registry_downloads_the_artifacts_from_s3(restored, server, platform):
    for alias, index in (("champion", 1), ("challenger", 2)):
        fetched = restored["server"].client("fetch", MODEL, alias, tempfile.mkdtemp(dir=platform.workdir))
        original = server.client("fetch", MODEL, alias, tempfile.mkdtemp(dir=platform.workdir))
        assert fetched["note"] == NOTE % index
        assert fetched["version"] == str(index)
        assert "MLmodel" in fetched["model_files"]
        assert fetched == original


def test_a_restore_from_s3_into_a_fresh_database_holds_the_same_registry(platform, s3_backup, pg, registry):
    rendered = platform.rendered("mlflow_restored_s3", "s3")
    spec = rendered["restore"][0]["spec"]["template"]["spec"]
    volumes = platform.volumes("restore-s3", rendered)
    results = platform.pod(spec, "mlflow_restored_s3", volumes).run()
    assert [(n, p.returncode) for n, p in results.items()] == [("download", 0), ("restore", 0), ("upgrade", 0)], output(results)
    assert len(os.listdir(volumes["backup"])) == 1
    name = os.listdir(volumes["backup"])[0]
    assert DUMP.match(name)
    assert results["download"].stdout == "backup_s3: downloaded s3://%s/backups/%s to %s/%s\n" % (BUCKET, name, volumes["backup"], name)
    assert results["restore"].stdout == "restore: restored %s into mlflow_restored_s3 (it held 0 tables)\n" % name
    assert rows(pg, "mlflow_restored_s3") == rows(pg, "mlflow")
    assert rows(pg, "mlflow")["aliases"] == ["%s|challenger|2" % MODEL, "%s|champion|1" % MODEL]


def test_a_restore_of_a_missing_dump_fails_and_names_it(platform, claim_backup, pg):
    missing = "mlflow-scheduled-20000101T000000Z.dump"
    rendered = platform.rendered("mlflow", "pvc", restore_file=missing)
    spec = rendered["restore"][0]["spec"]["template"]["spec"]
    results = platform.pod(spec, "mlflow_restored_s3", platform.volumes("missing", rendered, claim_backup["dir"])).run()
    assert list(results) == ["restore"]
    assert (results["restore"].returncode, results["restore"].stdout) == (1, "")
    assert results["restore"].stderr == "restore: %s/%s does not exist (mlflow_restore_file=%s)\n" % (claim_backup["dir"], missing, missing)
    # From S3: the download says the same of the key.
    rendered = platform.rendered("mlflow", "s3", restore_file=missing)
    spec = rendered["restore"][0]["spec"]["template"]["spec"]
    results = platform.pod(spec, "mlflow_restored_s3", platform.volumes("missing-s3", rendered)).run()
    assert list(results) == ["download"]
    assert (results["download"].returncode, results["download"].stdout) == (1, "")
    assert results["download"].stderr == "backup_s3: s3://%s/backups/%s does not exist (mlflow_restore_file=%s)\n" % (BUCKET, missing, missing)
    # latest with no dump at all
    empty = tempfile.mkdtemp(dir=platform.workdir)
    rendered = platform.rendered("mlflow", "pvc")
    spec = rendered["restore"][0]["spec"]["template"]["spec"]
    results = platform.pod(spec, "mlflow_restored_s3", platform.volumes("empty", rendered, empty)).run()
    assert (results["restore"].returncode, results["restore"].stderr) == (1, "restore: no dump (mlflow-<label>-<stamp>.dump) in %s\n" % empty)


def test_a_backup_with_a_wrong_password_fails_without_a_dump_or_a_secret(platform, registry):
    wrong = "wrong-" + platform.db_password[:8] + "-pw"
    backup_dir = tempfile.mkdtemp(prefix="wrong-", dir=platform.workdir)
    rendered = platform.rendered("mlflow", "pvc")
    results = platform.pod(rendered["backup_pod"]["spec"], "mlflow", platform.volumes("wrong", rendered, backup_dir),
                           db_password=wrong).run()
    proc = results["backup"]
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == (
        'pg_dump: error: connection to server at "127.0.0.1", port %d failed: FATAL:  password authentication failed for user "mlflow"\n'
        "backup: pg_dump of mlflow at 127.0.0.1:%d failed: no dump written\n" % (platform.pg.port, platform.pg.port))
    assert os.listdir(backup_dir) == []
    for secret in (wrong, platform.db_password):
        assert secret not in proc.stdout + proc.stderr


def test_a_restore_into_a_database_with_tables_is_refused_unless_replace(platform, claim_backup, pg):
    pg.create_database("mlflow_replace", platform.db_user)
    rendered = platform.rendered("mlflow", "pvc")
    refuse = rendered["restore"][0]["spec"]["template"]["spec"]
    volumes = platform.volumes("replace", rendered, claim_backup["dir"])
    first = platform.pod(refuse, "mlflow_replace", volumes).run()
    assert [p.returncode for p in first.values()] == [0, 0], output(first)
    tables = pg.table_count("mlflow_replace")
    pg.psql("update registered_model_aliases set version = 2 where alias = 'champion'", "mlflow_replace")

    again = platform.pod(refuse, "mlflow_replace", volumes).run()
    assert list(again) == ["restore"]
    assert (again["restore"].returncode, again["restore"].stdout) == (1, "")
    assert again["restore"].stderr == (
        "restore: the database mlflow_replace already holds %d tables: set mlflow_restore_replace=true "
        "(MLOPS_RESTORE_REPLACE=true) to replace them with %s\n" % (tables, claim_backup["files"][0]))
    assert pg.psql("select version from registered_model_aliases where alias = 'champion'", "mlflow_replace") == "2"

    replace = platform.rendered("mlflow", "pvc", restore_replace=True)["restore"][0]["spec"]["template"]["spec"]
    replaced = platform.pod(replace, "mlflow_replace", volumes).run()
    assert [p.returncode for p in replaced.values()] == [0, 0], output(replaced)
    assert replaced["restore"].stdout == "restore: restored %s into mlflow_replace (it held %d tables)\n" % (claim_backup["files"][0], tables)
    assert rows(pg, "mlflow_replace") == rows(pg, "mlflow")
    assert pg.psql("select version from registered_model_aliases where alias = 'champion'", "mlflow_replace") == "1"


@pytest.mark.parametrize("extra, message", [
    ({"mlflow_restore_file": "../etc/passwd"},
     "Invalid restore settings: mlflow_restore_file is '../etc/passwd': it must be latest or the file name of a dump "
     "(mlflow-<label>-<stamp>.dump)."),
    ({"mlops_target": "local", "mlflow_restore_file": "a b.dump"},
     "Invalid restore settings: mlflow_target is 'local': a restore runs on openshift or kubernetes (on local the database "
     "is a SQLite file); mlflow_restore_file is 'a b.dump': it must be latest or the file name of a dump "
     "(mlflow-<label>-<stamp>.dump)."),
])
def test_the_restore_playbook_refuses_bad_input_before_it_touches_the_cluster(extra, message, workdir):
    proc = refused("mlflow_restore.yml", extra, workdir)
    assert '"msg": %s' % json.dumps(message) in proc.stdout, proc.stdout[-3000:]
    assert "TASK [mlops.platform.mlflow : Stop the MLflow server]" not in proc.stdout


def test_a_restore_replace_that_is_not_a_boolean_fails_in_the_argument_spec(workdir):
    proc = refused("mlflow_restore.yml", {"mlflow_restore_replace": "maybe"}, workdir)
    assert "argument 'mlflow_restore_replace' is of type str and we were unable to convert to bool" in proc.stdout, proc.stdout[-3000:]
    assert "TASK [mlops.platform.mlflow : Stop the MLflow server]" not in proc.stdout


def test_the_platform_playbook_names_each_wrong_mlflow_setting_before_it_touches_the_cluster(workdir):
    proc = refused("platform.yml", {"mlflow_namespace": "ML_flow", "mlflow_s3_bucket": "", "mlflow_replicas": 0}, workdir,
                   "--tags", "mlflow")
    message = ("Invalid cluster MLflow settings: mlflow_namespace 'ML_flow' is not a DNS label; mlflow_s3_mode=s3 needs "
               "mlflow_s3_bucket; mlflow_replicas must be at least 1, not 0.")
    assert '"msg": %s' % json.dumps(message) in proc.stdout, proc.stdout[-3000:]


def refused(playbook_name, extra, workdir, *args):
    """A playbook of the kubernetes example inventory with an unreachable cluster (a check that came after the first
    cluster call would fail differently): it must fail (exit 2)."""
    from conftest import ROOT, clean_env
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", os.path.join(ROOT, "inventories", "kubernetes"),
           os.path.join(ROOT, "playbooks", playbook_name), "-e", json.dumps(extra)] + list(args)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=clean_env({"KUBECONFIG": os.path.join(workdir, "none")}),
                          timeout=300, check=False)
    assert proc.returncode == 2, proc.stdout[-3000:]
    return proc


def test_a_restore_of_latest_from_s3_takes_the_newest_stamp_whatever_the_label(platform, s3_backup, s3, pg):
    # The same dump under two names: a scheduled one and a newer pre-upgrade one ("preupgrade" sorts before
    # "scheduled": a pick by name would take the older).
    name = re.search(r"(mlflow-scheduled-\d{8}T\d{6}Z\.dump)", s3_backup["upload"].stdout).group(1)
    client = s3.client()
    for key in ("stamps/mlflow-scheduled-20260101T021700Z.dump", "stamps/mlflow-preupgrade-20260102T093000Z.dump"):
        client.copy_object(Bucket=BUCKET, Key=key, CopySource={"Bucket": BUCKET, "Key": "backups/" + name})
    pg.create_database("mlflow_stamps", platform.db_user)
    rendered = platform.rendered("mlflow", "s3", backup_s3_prefix="stamps")
    volumes = platform.volumes("stamps", rendered)
    results = platform.pod(rendered["restore"][0]["spec"]["template"]["spec"], "mlflow_stamps", volumes).run()
    assert [p.returncode for p in results.values()] == [0, 0, 0], output(results)
    assert results["download"].stdout == "backup_s3: downloaded s3://%s/stamps/mlflow-preupgrade-20260102T093000Z.dump to %s/%s\n" % (
        BUCKET, volumes["backup"], "mlflow-preupgrade-20260102T093000Z.dump")
    assert rows(pg, "mlflow_stamps") == rows(pg, "mlflow")
