"""Platform tier: the mlflow role's cluster backend run for real on 127.0.0.1 (tests/platform/README.md).

One PostgreSQL cluster (Debian's postgresql, initdb into a temporary directory) and one SeaweedFS S3 server per
session. What runs is rendered from the role (render.yml): the migration Job's pod, the server Deployment's
container (kubernetes target: MLflow's basic-auth app), the backup CronJob's pod (to a claim and to S3) and the
restore Job's pod; pods.py runs their containers as local processes. The only changes to what the role renders:
the server binds 127.0.0.1 on a free port instead of 0.0.0.0:5000, and mounted paths are local directories.
"""

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pods import Pod  # noqa: E402 pylint: disable=wrong-import-position
from support.postgres import PostgresCluster, pg_bindir  # noqa: E402 pylint: disable=wrong-import-position
from support.seaweed_s3 import SeaweedS3  # noqa: E402 pylint: disable=wrong-import-position
from support.server_process import ServerProcess, free_port  # noqa: E402 pylint: disable=wrong-import-position

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FILES = os.path.join(ROOT, "roles", "mlflow", "files")
BIN = os.path.dirname(sys.executable)
INVENTORY = os.path.join(ROOT, "tests", "integration", "inventory.yml")
BUCKET = "mlops"
TRACKING_HOST = "mlflow.platform-tier.test"
MODEL = "platform-classifier"


def token(length=24):
    return secrets.token_hex(length // 2)


def clean_env(extra=None):
    """The test's environment without anything that points a client at a server or at S3 credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "AWS_"))}
    env.update({"ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_RETRY_FILES_ENABLED": "0",
                "ANSIBLE_LOCALHOST_WARNING": "0", "ANSIBLE_STDOUT_CALLBACK": "default",
                "ANSIBLE_COLLECTIONS_PATH": os.path.join(ROOT, ".cache", "collections"),
                "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_EC2_METADATA_DISABLED": "true"})
    env.update(extra or {})
    return env


def playbook(path, extra_vars, workdir, check=True):
    """ansible-playbook with the extra vars in a 0600 file (they hold passwords); returns the CompletedProcess."""
    fd, vars_file = tempfile.mkstemp(prefix="vars-", suffix=".json", dir=workdir)
    with os.fdopen(fd, "w") as handle:
        json.dump(extra_vars, handle)
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", INVENTORY, path, "-e", "@" + vars_file],
                          capture_output=True, text=True, env=clean_env(), timeout=600, check=False)
    os.unlink(vars_file)
    if check and proc.returncode != 0:
        pytest.fail("%s exited %s:\n%s\n%s" % (os.path.basename(path), proc.returncode, proc.stdout[-6000:], proc.stderr[-3000:]),
                    pytrace=False)
    return proc


class Platform:
    """The servers of the session, the secrets the role's objects read, and the rendered objects."""

    def __init__(self, pg, s3, workdir):
        self.pg = pg
        self.s3 = s3
        self.workdir = workdir
        self.db_user = "mlflow"
        # Characters a URI reserves (and the ini parser's %): the role never puts the password into a URI.
        self.db_password = token() + "@:/%?#"
        self.admin_password = token()
        self.flask_secret = token(48)
        self.pg_bindir = pg_bindir()
        self._rendered = {}

    def secrets(self, database, db_password=None):
        """The Secrets the role's pods read (mlflow-db as the role writes it, mlflow-s3, mlflow-auth)."""
        return {
            "mlflow-db": {"POSTGRESQL_HOST": self.pg.host, "POSTGRESQL_PORT": str(self.pg.port), "POSTGRESQL_USER": self.db_user,
                          "POSTGRESQL_PASSWORD": db_password or self.db_password, "POSTGRESQL_DATABASE": database},
            "mlflow-s3": {"AWS_ACCESS_KEY_ID": self.s3.access_key, "AWS_SECRET_ACCESS_KEY": self.s3.secret_key},
            "mlflow-auth": {"MLFLOW_AUTH_ADMIN_USERNAME": "admin", "MLFLOW_AUTH_ADMIN_PASSWORD": self.admin_password,
                            "MLFLOW_FLASK_SERVER_SECRET_KEY": self.flask_secret},
        }

    def rendered(self, database, backup_target="pvc", restore_file="latest", restore_replace=False, backup_s3_prefix="backups"):
        """What the role renders for the kubernetes target with these settings (render.yml)."""
        key = (database, backup_target, restore_file, restore_replace, backup_s3_prefix)
        if key not in self._rendered:
            out = os.path.join(self.workdir, "rendered-%d.json" % len(self._rendered))
            playbook(os.path.join(HERE, "render.yml"), {
                "mlops_target": "kubernetes",
                "mlops_mlflow_tracking_uri": "http://" + TRACKING_HOST,
                "mlflow_s3_endpoint_url": self.s3.endpoint,
                "mlflow_s3_bucket": BUCKET,
                "mlflow_backup_target": backup_target,
                "mlflow_restore_file": restore_file,
                "mlflow_restore_replace": restore_replace,
                "mlflow_backup_s3_prefix": backup_s3_prefix,
                "render_out": out,
                "__mlflow_credentials": {"db_user": self.db_user, "db_password": self.db_password, "db_host": self.pg.host,
                                         "db_port": str(self.pg.port), "db_name": database},
            }, self.workdir)
            with open(out) as handle:
                self._rendered[key] = json.load(handle)
        return self._rendered[key]

    def volumes(self, name, rendered, backup_dir=None):
        """Local directories for the pod's volumes: the scripts ConfigMap is the role's files/, emptyDirs are new."""
        base = tempfile.mkdtemp(prefix=name + "-", dir=self.workdir)
        auth = os.path.join(base, "auth")
        os.mkdir(auth)
        with open(os.path.join(auth, "basic_auth.ini"), "w") as handle:
            handle.write(rendered["auth_ini"])
        tmp = os.path.join(base, "tmp")
        os.mkdir(tmp)
        if backup_dir is None:
            backup_dir = os.path.join(base, "backup")
            os.mkdir(backup_dir)
        return {"scripts": FILES, "tmp": tmp, "auth": auth, "backup": backup_dir}

    def pod(self, spec, database, volumes, db_password=None):
        return Pod(spec, self.secrets(database, db_password), volumes, self.pg_bindir)


class Server(ServerProcess):
    """`mlflow server` as the role's Deployment runs it (its container 'mlflow'), on 127.0.0.1:<free port>."""

    name = "mlflow server"
    stop_timeout = 30

    def __init__(self, platform, database):
        rendered = platform.rendered(database)
        deployment = rendered["server"][0]
        self.port = free_port()
        self.uri = "http://127.0.0.1:%d" % self.port
        self.workdir = tempfile.mkdtemp(prefix="server-", dir=platform.workdir)
        super().__init__(os.path.join(self.workdir, "server.log"))
        pod = platform.pod(deployment["spec"]["template"]["spec"], database, platform.volumes("server", rendered))
        self.container = pod.container("mlflow")
        self.argv, self.env = pod.command(self.container, {"--host": "127.0.0.1", "--port": str(self.port)})
        self.login = {"tracking_uri": self.uri, "username": "admin", "password": platform.admin_password}

    def start(self, timeout=180):
        self.spawn(self.argv, env=self.env, cwd=self.workdir)
        return self.wait_http(self.uri + "/health", timeout)

    def log(self):
        return self.log_text()

    def client(self, *args):
        """tests/platform/client.py against this server, with the basic-auth login and no S3 credentials."""
        env = clean_env({"MLFLOW_TRACKING_USERNAME": "admin", "MLFLOW_TRACKING_PASSWORD": self.login["password"],
                         "HOME": self.workdir})
        proc = subprocess.run([sys.executable, os.path.join(HERE, "client.py"), args[0], self.uri] + list(args[1:]),
                              capture_output=True, text=True, env=env, timeout=600, check=False)
        if proc.returncode != 0:
            pytest.fail("client.py %s failed:\n%s\nserver log:\n%s" % (args[0], proc.stderr[-5000:], self.log_tail()), pytrace=False)
        return json.loads(proc.stdout.strip().splitlines()[-1])


def migrate(platform, database):
    """The migration Job's pod, as the role renders it: a backup first (skipped while the database is empty), then
    `mlflow db upgrade`."""
    rendered = platform.rendered(database)
    results = platform.pod(rendered["upgrade_pod"]["spec"], database, platform.volumes("migrate", rendered)).run()
    failed = [name for name, proc in results.items() if proc.returncode != 0]
    if failed or list(results) != ["backup", "upgrade"]:
        pytest.fail("the migration pod failed in %s:\n%s" % (failed, "\n".join(p.stdout + p.stderr for p in results.values())[-5000:]),
                    pytrace=False)
    return results


@pytest.fixture(scope="session")
def workdir():
    path = tempfile.mkdtemp(prefix="mlops-platform-tier-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def pg():
    cluster = PostgresCluster(superuser_password=token())
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def s3():
    server = SeaweedS3(access_key="AK" + token(16).upper(), secret_key=token(40))
    server.start()
    server.client().create_bucket(Bucket=BUCKET)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def platform(pg, s3, workdir):
    plat = Platform(pg, s3, workdir)
    pg.create_user(plat.db_user, plat.db_password)
    for database in ("mlflow", "mlflow_restored", "mlflow_restored_s3"):
        pg.create_database(database, plat.db_user)
    return plat


@pytest.fixture(scope="session")
def migrated(platform):
    """The database after the migration pod: its answers (the backup it skipped, the upgrade's output)."""
    return migrate(platform, "mlflow")


@pytest.fixture(scope="session")
def server(platform, migrated):
    srv = Server(platform, "mlflow").start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def registry(server, platform):
    """Two runs logged by MLflow's client (artifacts through the server into S3), then versions and aliases set
    through the collection's modules. Returns what the client and the modules answered, and the registry as the
    modules read it."""
    logged = server.client("log")
    out = os.path.join(platform.workdir, "register.json")
    playbook(os.path.join(HERE, "playbooks", "register.yml"),
             {"mlflow": server.login, "model": MODEL, "runs": logged["runs"], "out": out}, platform.workdir)
    with open(out) as handle:
        registered = json.load(handle)
    return {"logged": logged, "registered": registered, "read": read_registry(server, platform, "before")}


def read_registry(server, platform, name):
    out = os.path.join(platform.workdir, "read-%s.json" % name)
    playbook(os.path.join(HERE, "playbooks", "read.yml"), {"mlflow": server.login, "model": MODEL, "out": out}, platform.workdir)
    with open(out) as handle:
        return json.load(handle)
