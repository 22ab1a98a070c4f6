#!/bin/sh
# pg_restore of one dump of MLOPS_BACKUP_DIR (MLOPS_RESTORE_FILE: a file name, or latest) into the database libpq's
# environment names (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE), in one transaction: what the dump holds
# replaces what the database holds; the database may be empty.
# Used by the restore Job (playbooks/mlflow_restore.yml) and the tests (against a real PostgreSQL).
set -eu
dir="${MLOPS_BACKUP_DIR:?MLOPS_BACKUP_DIR is not set}"
want="${MLOPS_RESTORE_FILE:-latest}"
if [ "$want" = latest ]; then
  # mlflow-<label>-<UTC stamp>.dump: the newest stamp, whatever the label
  name="$(ls -1 "$dir" | grep '^mlflow-[a-z]*-[0-9TZ]*\.dump$' | sort -t- -k3 | tail -n 1)"
  [ -n "$name" ] || { echo "restore: no dump (mlflow-*.dump) in $dir" >&2; exit 1; }
  file="$dir/$name"
else
  case "$want" in */*) echo "restore: MLOPS_RESTORE_FILE must be a file name in $dir, not a path" >&2; exit 1 ;; esac
  file="$dir/$want"
  [ -f "$file" ] || { echo "restore: $file does not exist" >&2; exit 1; }
fi
tries="${MLOPS_DB_WAIT_TRIES:-60}"
n=0
until pg_isready --quiet; do
  n=$((n + 1))
  [ "$n" -lt "$tries" ] || { echo "restore: the database did not answer after $tries tries" >&2; exit 1; }
  sleep 2
done
pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction --exit-on-error \
  --dbname="${PGDATABASE:?PGDATABASE is not set}" "$file"
echo "restore: restored $file into ${PGDATABASE}"
