#!/bin/sh
# pg_dump of the MLflow database (custom format) into MLOPS_BACKUP_DIR, then old dumps removed.
# libpq reads PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE from the environment.
# Used by the backup CronJob, the backup before a schema migration, and the tests (against a real PostgreSQL).
set -eu
dir="${MLOPS_BACKUP_DIR:?MLOPS_BACKUP_DIR is not set}"
keep_days="${MLOPS_BACKUP_RETENTION_DAYS:-7}"
tries="${MLOPS_DB_WAIT_TRIES:-60}"
n=0
until pg_isready --quiet; do
  n=$((n + 1))
  if [ "$n" -ge "$tries" ]; then
    echo "backup: the database ${PGHOST:-?}:${PGPORT:-5432} did not answer after $tries tries" >&2
    exit 1
  fi
  sleep 2
done
if [ "${MLOPS_BACKUP_SKIP_EMPTY:-false}" = true ] && \
   [ "$(psql --no-psqlrc --no-align --tuples-only --command "select count(*) from information_schema.tables where table_schema = 'public'")" = 0 ]; then
  echo "backup: the database ${PGDATABASE:-?} has no tables yet: nothing to back up"
  exit 0
fi
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
file="$dir/mlflow-${MLOPS_BACKUP_LABEL:-scheduled}-$stamp.dump"
trap 'rm -f "$file.partial"' EXIT
if ! pg_dump --format=custom --no-owner --no-privileges --file="$file.partial"; then
  echo "backup: pg_dump of ${PGDATABASE:-?} at ${PGHOST:-?}:${PGPORT:-5432} failed: no dump written" >&2
  exit 1
fi
mv "$file.partial" "$file"
echo "backup: wrote $file ($(wc -c <"$file") bytes)"
find "$dir" -name 'mlflow-*.dump' -type f -mtime +"$keep_days" -print -exec rm -f {} +
