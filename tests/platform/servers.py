"""The S3 server of the platform tier: SeaweedFS (Apache-2.0) as `weed mini` on 127.0.0.1.

The binary comes from tests/support/seaweedfs.sh (built once from the Go module proxy, cached under
~/.cache/mlops-platform). Every port it opens is chosen free at start (gRPC ports included), telemetry is off,
the admin UI, WebDAV, Iceberg and Lance servers are off, and the S3 API knows one identity whose keys the caller
chooses (an S3 config file in the server's directory).
"""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

from support.mlflow_server import free_ports

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SEAWEEDFS_SH = os.path.join(ROOT, "tests", "support", "seaweedfs.sh")


def weed_binary():
    proc = subprocess.run([SEAWEEDFS_SH, "path"], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError("SeaweedFS is not built: run tests/support/seaweedfs.sh build (tests/platform/run.sh does)")
    return proc.stdout.strip()


class SeaweedS3:
    # The servers of `weed mini` whose HTTP and gRPC ports are set explicitly.
    SERVERS = ("master", "volume", "filer", "s3", "admin")

    def __init__(self, access_key, secret_key):
        self.access_key = access_key
        self.secret_key = secret_key
        self.root = tempfile.mkdtemp(prefix="mlops-s3-")
        self.log_path = os.path.join(self.root, "weed.log")
        self.proc = None
        self.ports = dict(zip([s + suffix for s in self.SERVERS for suffix in ("", ".grpc")], free_ports(2 * len(self.SERVERS))))
        self.endpoint = "http://127.0.0.1:%d" % self.ports["s3"]

    def start(self, timeout=90):
        config = os.path.join(self.root, "s3.json")
        with open(config, "w") as handle:
            json.dump({"identities": [{"name": "mlops", "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                                       "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}, handle)
        os.chmod(config, 0o600)
        data = os.path.join(self.root, "data")
        os.mkdir(data)
        cmd = [weed_binary(), "mini", "-dir=" + data, "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-master.telemetry=false",
               "-webdav=false", "-admin.ui=false", "-admin.port.legacy=0", "-s3.port.iceberg=0", "-s3.port.lance=0",
               "-s3.config=" + config]
        for name, port in self.ports.items():
            flag = name.replace(".grpc", ".port.grpc") if name.endswith(".grpc") else name + ".port"
            cmd.append("-%s=%d" % (flag, port))
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, cwd=self.root, start_new_session=True)
        deadline = time.time() + timeout
        from botocore.exceptions import BotoCoreError, ClientError
        s3 = self.client()
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("weed mini exited with %s; log:\n%s" % (self.proc.returncode, self.log_tail()))
            try:
                s3.list_buckets()
                return self
            except (BotoCoreError, ClientError):  # not up yet: connection refused, or a 5xx while the filer starts
                time.sleep(0.5)
        self.stop()
        raise RuntimeError("SeaweedFS S3 did not answer within %ss; log:\n%s" % (timeout, self.log_tail()))

    def client(self, access_key=None, secret_key=None):
        import boto3  # test side only
        from botocore.config import Config
        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=access_key or self.access_key, aws_secret_access_key=secret_key or self.secret_key,
                            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))

    def keys(self, bucket, prefix=""):
        found = []
        for page in self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            found.extend(o["Key"] for o in page.get("Contents", []))
        return sorted(found)

    def log_tail(self, lines=40):
        try:
            with open(self.log_path, "rb") as handle:
                return b"\n".join(handle.read().splitlines()[-lines:]).decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        if getattr(self, "_log", None):
            self._log.close()
        shutil.rmtree(self.root, ignore_errors=True)
