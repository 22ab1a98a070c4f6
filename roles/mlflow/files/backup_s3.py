"""Upload the dumps of MLOPS_BACKUP_DIR to s3://MLOPS_BACKUP_BUCKET/MLOPS_BACKUP_PREFIX/ and delete the uploaded ones
older than MLOPS_BACKUP_RETENTION_DAYS there (boto3; endpoint MLFLOW_S3_ENDPOINT_URL, keys AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY, as MLflow reads them). Runs in the MLflow image, which has boto3.
With --download NAME (or latest) it downloads that dump into MLOPS_BACKUP_DIR instead (the restore Job)."""
import datetime
import os
import sys

import boto3
from botocore.config import Config


def client():
    verify = os.environ.get("AWS_CA_BUNDLE") or os.environ.get("MLFLOW_S3_IGNORE_TLS", "false").lower() != "true"
    return boto3.client("s3", endpoint_url=os.environ.get("MLFLOW_S3_ENDPOINT_URL") or None, verify=verify,
                        config=Config(s3={"addressing_style": "path"}))


def dumps(s3, bucket, prefix):
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/mlflow-"):
        found.extend(page.get("Contents", []))
    return found


def main(argv):
    directory = os.environ["MLOPS_BACKUP_DIR"]
    bucket = os.environ["MLOPS_BACKUP_BUCKET"]
    prefix = os.environ.get("MLOPS_BACKUP_PREFIX", "backups").strip("/")
    s3 = client()
    if len(argv) == 2 and argv[0] == "--download":
        found = sorted(o["Key"] for o in dumps(s3, bucket, prefix) if o["Key"].endswith(".dump"))
        key = found[-1] if argv[1] == "latest" and found else prefix + "/" + argv[1]
        if argv[1] == "latest" and not found:
            sys.exit("backup_s3: no dump under s3://%s/%s/" % (bucket, prefix))
        target = os.path.join(directory, os.path.basename(key))
        s3.download_file(bucket, key, target)
        print("backup_s3: downloaded s3://%s/%s to %s" % (bucket, key, target))
        return
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


if __name__ == "__main__":
    main(sys.argv[1:])
