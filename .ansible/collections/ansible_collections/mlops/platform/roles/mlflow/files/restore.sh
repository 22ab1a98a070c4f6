#!/bin/sh
# pg_restore of one dump of MLOPS_BACKUP_DIR (MLOPS_RESTORE_FILE: a file name, or latest) into the database libpq's
# environment names (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE), in one transaction: what the dump holds
# replaces what the database holds. A database that already holds tables is refused unless MLOPS_RESTORE_REPLACE is
# true (mlflow_restore_replace): restoring over a live registry is a decision, not a default.
# Used by the restore Job (playbooks/mlflow_restore.yml) and the tests (against a real PostgreSQL).
set -eu
dir="${MLOPS_BACKUP_DIR:?MLOPS_BACKUP_DIR is not set}"
want="${MLOPS_RESTORE_FILE:-latest}"
replace="${MLOPS_RESTORE_REPLACE:-false}"
db="${PGDATABASE:?PGDATABASE is not set}"
case "$replace" in true|false) ;; *) echo "restore: MLOPS_RESTORE_REPLACE (mlflow_restore_replace) must be true or false, not '$replace'" >&2; exit 1 ;; esac
if [ "$want" = latest ]; then
  # mlflow-<label>-<UTC stamp>.dump: the newest stamp, whatever the label
  name="$(for f in "$dir"/mlflow-*.dump; do
    b="${f##*/}"
    case "$b" in mlflow-*-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z.dump) printf '%s %s\n' "${b##*-}" "$b" ;; esac
  done | sort | tail -n 1 | cut -d' ' -f2)"
  [ -n "$name" ] || { echo "restore: no dump (mlflow-<label>-<stamp>.dump) in $dir" >&2; exit 1; }
  file="$dir/$name"
else
  case "$want" in */*|.*) echo "restore: MLOPS_RESTORE_FILE (mlflow_restore_file) must be a file name in $dir or latest, not '$want'" >&2; exit 1 ;; esac
  file="$dir/$want"
  [ -f "$file" ] || { echo "restore: $file does not exist (mlflow_restore_file=$want)" >&2; exit 1; }
fi
tries="${MLOPS_DB_WAIT_TRIES:-60}"
n=0
until pg_isready --quiet; do
  n=$((n + 1))
  [ "$n" -lt "$tries" ] || { echo "restore: the database ${PGHOST:-?}:${PGPORT:-5432} did not answer after $tries tries" >&2; exit 1; }
  sleep 2
done
tables="$(psql --no-psqlrc --no-align --tuples-only --command "select count(*) from information_schema.tables where table_schema = 'public'")"
if [ "$tables" != 0 ] && [ "$replace" != true ]; then
  echo "restore: the database $db already holds $tables tables: set mlflow_restore_replace=true (MLOPS_RESTORE_REPLACE=true) to replace them with $(basename "$file")" >&2
  exit 1
fi
pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction --exit-on-error --dbname="$db" "$file"
echo "restore: restored $(basename "$file") into $db (it held $tables tables)"
