"""SeaweedFS (`weed mini`, Apache-2.0) as the real S3 server of the DVC remote: every port on 127.0.0.1 and free,
telemetry off, one identity. The binary comes from tests/support/seaweedfs.sh (MLOPS_SEAWEEDFS names it)."""

import json
import os
import subprocess
import time
import urllib.error
import urllib.request

from support.mlflow_server import free_ports

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

ACCESS_KEY = "mlops-dvc"
SECRET_KEY = "dvc-secret-7f3a91c2"


def weed_binary():
    if os.environ.get("MLOPS_SEAWEEDFS"):
        return os.environ["MLOPS_SEAWEEDFS"]
    proc = subprocess.run([os.path.join(ROOT, "tests", "support", "seaweedfs.sh"), "build"], capture_output=True,
                          text=True, check=False, timeout=3600)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


class S3Server:
    def __init__(self, root):
        self.root = root
        names = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port", "filer.port.grpc",
                 "s3.port.grpc", "admin.port", "admin.port.grpc", "metricsPort")
        drawn = free_ports(len(names) + 1)
        self.port, self.ports = drawn[0], dict(zip(names, drawn[1:]))
        self.url = "http://127.0.0.1:%d" % self.port
        self.proc = None
        self.log = os.path.join(root, "weed.log")

    def start(self, timeout=60):
        data = os.path.join(self.root, "data")
        os.makedirs(data, exist_ok=True)
        config = os.path.join(self.root, "s3.json")
        with open(config, "w") as handle:
            json.dump({"identities": [{"name": "dvc", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                                       "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}, handle)
        ports = self.ports
        args = [weed_binary(), "mini", "-dir=" + data, "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-s3.port=%d" % self.port,
                "-s3.port.iceberg=0", "-s3.port.lance=0", "-webdav=false", "-admin.ui=false",
                "-master.telemetry=false", "-s3.config=" + config]
        args += ["-%s=%d" % item for item in sorted(ports.items())]
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("weed mini exited %s:\n%s" % (self.proc.returncode, open(self.log).read()[-3000:]))
            try:
                urllib.request.urlopen(self.url, timeout=2).close()
                return self
            except urllib.error.HTTPError:
                return self  # S3 answers (403 for an anonymous request)
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        raise AssertionError("SeaweedFS S3 did not answer within %ss:\n%s" % (timeout, open(self.log).read()[-3000:]))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def client(self):
        import boto3
        return boto3.client("s3", endpoint_url=self.url, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                            region_name="us-east-1")
