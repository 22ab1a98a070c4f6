"""A real S3 server for tests: SeaweedFS (Apache-2.0) as `weed mini` on 127.0.0.1.

The binary comes from tests/support/seaweedfs.sh (built once from the Go module proxy, cached under
~/.cache/mlops-platform; MLOPS_SEAWEEDFS names a binary to use instead). Every port it opens is chosen free at
start (gRPC and metrics ports included), telemetry is off, the admin UI, WebDAV, Iceberg and Lance servers are off,
and the S3 API knows one identity whose keys the caller chooses (an S3 config file, mode 0600, in the server's
directory). Ready once an authenticated ListBuckets succeeds (the filer is up, not only the S3 port).
"""

import json
import os
import shutil
import subprocess
import tempfile

from support.server_process import ServerProcess, free_ports

SEAWEEDFS_SH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seaweedfs.sh")


def weed_binary():
    if os.environ.get("MLOPS_SEAWEEDFS"):
        return os.environ["MLOPS_SEAWEEDFS"]
    proc = subprocess.run([SEAWEEDFS_SH, "build"], capture_output=True, text=True, check=False, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError("tests/support/seaweedfs.sh build failed:\n%s" % proc.stderr[-3000:])
    return proc.stdout.strip().splitlines()[-1]


class SeaweedS3(ServerProcess):
    name = "weed mini"
    # The servers of `weed mini` whose HTTP and gRPC ports are set explicitly, and the metrics port.
    SERVERS = ("master", "volume", "filer", "s3", "admin")

    def __init__(self, access_key, secret_key, root=None):
        self.access_key = access_key
        self.secret_key = secret_key
        self._owns_root = root is None
        self.root = root or tempfile.mkdtemp(prefix="mlops-s3-")
        super().__init__(os.path.join(self.root, "weed.log"))
        flags = ["%s.port" % s for s in self.SERVERS] + ["%s.port.grpc" % s for s in self.SERVERS] + ["metricsPort"]
        self.ports = dict(zip(flags, free_ports(len(flags))))
        self.endpoint = "http://127.0.0.1:%d" % self.ports["s3.port"]

    def start(self, timeout=90):
        config = os.path.join(self.root, "s3.json")
        with open(config, "w") as handle:
            json.dump({"identities": [{"name": "mlops", "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                                       "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}, handle)
        os.chmod(config, 0o600)
        data = os.path.join(self.root, "data")
        os.makedirs(data, exist_ok=True)
        cmd = [weed_binary(), "mini", "-dir=" + data, "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-master.telemetry=false",
               "-webdav=false", "-admin.ui=false", "-admin.port.legacy=0", "-s3.port.iceberg=0", "-s3.port.lance=0",
               "-s3.config=" + config]
        cmd += ["-%s=%d" % item for item in sorted(self.ports.items())]
        self.spawn(cmd, cwd=self.root)
        from botocore.exceptions import BotoCoreError, ClientError
        s3 = self.client()

        def answers():
            try:
                s3.list_buckets()
                return True
            except (BotoCoreError, ClientError):  # not up yet: connection refused, or a 5xx while the filer starts
                return False

        return self.wait_ready(answers, timeout, "answer S3 ListBuckets")

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

    def stop(self):
        super().stop()
        if self._owns_root:
            shutil.rmtree(self.root, ignore_errors=True)
