"""A throwaway PostgreSQL cluster on 127.0.0.1 for tests (Debian's postgresql package).

``initdb`` into a fresh directory, ``pg_ctl start`` on a free TCP port of the loopback interface with the unix
socket in that directory, password (SCRAM) authentication over TCP and trust on the socket for the superuser the
fixture itself uses. As root the server runs as the ``postgres`` user (``runuser``): PostgreSQL refuses to run as
root. ``stop()`` stops it and removes the directory.
"""

import glob
import os
import pwd
import shutil
import subprocess
import tempfile

from support.server_process import free_port


def pg_bindir():
    """The newest /usr/lib/postgresql/<major>/bin that has pg_ctl (MLOPS_PG_BINDIR overrides)."""
    if os.environ.get("MLOPS_PG_BINDIR"):
        return os.environ["MLOPS_PG_BINDIR"]
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise RuntimeError("no PostgreSQL server: /usr/lib/postgresql/*/bin/pg_ctl is missing (tests/platform/run.sh installs it)")
    return os.path.dirname(found[-1])


class PostgresCluster:
    def __init__(self, superuser_password, port=None):
        self.bindir = pg_bindir()
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.superuser = "postgres"
        self.superuser_password = superuser_password
        self.root = tempfile.mkdtemp(prefix="mlops-pg-")
        self.data = os.path.join(self.root, "data")
        self.socket_dir = self.root
        self.log_path = os.path.join(self.root, "server.log")
        self._as_user = []
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.root, account.pw_uid, account.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]
        os.chmod(self.root, 0o700)

    def _run(self, args, **kwargs):
        return subprocess.run(self._as_user + args, capture_output=True, text=True, check=False, **kwargs)

    def _bin(self, name):
        return os.path.join(self.bindir, name)

    def start(self):
        pwfile = os.path.join(self.root, "pwfile")
        with open(pwfile, "w") as handle:
            handle.write(self.superuser_password + "\n")
        if self._as_user:
            account = pwd.getpwnam("postgres")
            os.chown(pwfile, account.pw_uid, account.pw_gid)
        os.chmod(pwfile, 0o600)
        proc = self._run([self._bin("initdb"), "--pgdata", self.data, "--username", self.superuser, "--pwfile", pwfile,
                          "--auth-local", "trust", "--auth-host", "scram-sha-256", "--encoding", "UTF8",
                          "--locale", "C.UTF-8", "--no-sync"])
        os.unlink(pwfile)
        if proc.returncode != 0:
            raise RuntimeError("initdb failed:\n%s%s" % (proc.stdout, proc.stderr))
        options = "-c listen_addresses=%s -p %d -k %s -c fsync=off -c max_connections=40" % (self.host, self.port, self.socket_dir)
        proc = self._run([self._bin("pg_ctl"), "--pgdata", self.data, "--log", self.log_path, "--wait", "--timeout", "60",
                          "-o", options, "start"])
        if proc.returncode != 0:
            raise RuntimeError("pg_ctl start failed:\n%s%s\n%s" % (proc.stdout, proc.stderr, self.log_tail()))
        return self

    def psql(self, sql, database="postgres"):
        """Run SQL as the superuser over the unix socket; returns the unaligned, tuples-only output."""
        proc = self._run([self._bin("psql"), "--host", self.socket_dir, "--port", str(self.port), "--username", self.superuser,
                          "--dbname", database, "--no-psqlrc", "--no-align", "--tuples-only", "--set", "ON_ERROR_STOP=1",
                          "--command", sql])
        if proc.returncode != 0:
            raise RuntimeError("psql failed: %s" % proc.stderr.strip())
        return proc.stdout.strip()

    def create_user(self, name, password):
        self.psql("CREATE ROLE %s LOGIN PASSWORD '%s'" % (name, password.replace("'", "''")))

    def create_database(self, name, owner):
        self.psql("CREATE DATABASE %s OWNER %s" % (name, owner))

    def table_count(self, database):
        return int(self.psql("select count(*) from information_schema.tables where table_schema = 'public'", database))

    def log_tail(self, lines=40):
        try:
            with open(self.log_path, "rb") as handle:
                return b"\n".join(handle.read().splitlines()[-lines:]).decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            self._run([self._bin("pg_ctl"), "--pgdata", self.data, "--mode", "fast", "--wait", "stop"])
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
