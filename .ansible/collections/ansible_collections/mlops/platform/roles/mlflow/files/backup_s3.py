"""Upload the dumps of MLOPS_BACKUP_DIR to s3://MLOPS_BACKUP_BUCKET/MLOPS_BACKUP_PREFIX/ and delete the uploaded ones
older than MLOPS_BACKUP_RETENTION_DAYS there (boto3; endpoint MLFLOW_S3_ENDPOINT_URL, keys AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY, as MLflow reads them). Runs in the MLflow image, which has boto3.
With --download NAME (or latest) it downloads that dump into MLOPS_BACKUP_DIR instead (the restore Job).
Errors are one line naming the bucket and key (never a key or secret), exit status 1."""
import datetime
import os
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError


def setting(name, default=None):
    value = os.environ.get(name, default)
    if not value:
        sys.exit("backup_s3: %s is not set" % name)
    return value


def client():
    verify = os.environ.get("AWS_CA_BUNDLE") or os.environ.get("MLFLOW_S3_IGNORE_TLS", "false").lower() != "true"
    return boto3.client("s3", endpoint_url=os.environ.get("MLFLOW_S3_ENDPOINT_URL") or None, verify=verify,
                        config=Config(s3={"addressing_style": "path"}))


def dumps(s3, bucket, prefix):
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/mlflow-"):
        found.extend(o for o in page.get("Contents", []) if o["Key"].endswith(".dump"))
    return found


def download(s3, directory, bucket, prefix, name):
    if name == "latest":
        # mlflow-<label>-<UTC stamp>.dump: the newest stamp, whatever the label (as restore.sh picks)
        found = sorted((o["Key"] for o in dumps(s3, bucket, prefix)), key=lambda k: k.rsplit("-", 1)[-1])
        if not found:
            sys.exit("backup_s3: no dump (mlflow-<label>-<stamp>.dump) under s3://%s/%s/" % (bucket, prefix))
        key = found[-1]
    elif "/" in name or name.startswith("."):
        sys.exit("backup_s3: the dump to download (mlflow_restore_file) must be a file name or latest, not '%s'" % name)
    else:
        key = prefix + "/" + name
    target = os.path.join(directory, os.path.basename(key))
    try:
        s3.download_file(bucket, key, target)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
            sys.exit("backup_s3: s3://%s/%s does not exist (mlflow_restore_file=%s)" % (bucket, key, name))
        raise
    print("backup_s3: downloaded s3://%s/%s to %s" % (bucket, key, target))


def upload(s3, directory, bucket, prefix):
    for name in sorted(os.listdir(directory)):
        if name.startswith("mlflow-") and name.endswith(".dump"):
            s3.upload_file(os.path.join(directory, name), bucket, prefix + "/" + name)
            print("backup_s3: uploaded %s to s3://%s/%s/%s" % (name, bucket, prefix, name))
    keep = datetime.timedelta(days=int(os.environ.get("MLOPS_BACKUP_RETENTION_DAYS", "7")))
    now = datetime.datetime.now(datetime.timezone.utc)
    for obj in dumps(s3, bucket, prefix):
        if now - obj["LastModified"] > keep:
            s3.delete_object(Bucket=bucket, Key=obj["Key"])
            print("backup_s3: deleted s3://%s/%s (older than %s)" % (bucket, obj["Key"], keep))


def main(argv):
    directory = setting("MLOPS_BACKUP_DIR")
    bucket = setting("MLOPS_BACKUP_BUCKET")
    prefix = os.environ.get("MLOPS_BACKUP_PREFIX", "backups").strip("/") or "backups"
    if argv and not (len(argv) == 2 and argv[0] == "--download"):
        sys.exit("usage: backup_s3.py [--download NAME|latest]")
    s3 = client()
    try:
        if argv:
            download(s3, directory, bucket, prefix, argv[1])
        else:
            upload(s3, directory, bucket, prefix)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        sys.exit("backup_s3: s3://%s/%s/: %s (%s)" % (bucket, prefix, error.get("Code", "?"), error.get("Message", "")))
    except BotoCoreError as exc:
        sys.exit("backup_s3: s3://%s/%s/: %s" % (bucket, prefix, exc))


if __name__ == "__main__":
    main(sys.argv[1:])
