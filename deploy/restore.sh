#!/usr/bin/env bash
# Restore a backup made by deploy/backup.sh: the database and the uploaded files.
#
#   deploy/restore.sh BACKUP_DIR --yes
#
# REPLACES the contents of the database named by DATABASE_URL (it must exist; it may be empty) and
# of MEDIA_ROOT. Stop web, worker and beat first (systemctl stop accountability.target), restore,
# then start them again. The files that were in MEDIA_ROOT are kept in MEDIA_ROOT.before-restore-*.
#
# Nothing is changed unless every check passes: the checksums, the arguments, the tools. The database
# is restored in one transaction, so a failure half-way leaves it as it was.
set -euo pipefail
umask 027

fail() { echo "restore: $*" >&2; exit 1; }

backup="${1:-}"
confirm="${2:-}"
[[ -n "$backup" ]] || fail "usage: deploy/restore.sh BACKUP_DIR --yes"
[[ -d "$backup" ]] || fail "$backup is not a backup directory"
[[ -f "$backup/SHA256SUMS" && -f "$backup/database.dump" && -f "$backup/uploads.tar" ]] \
  || fail "$backup is not a complete backup (SHA256SUMS, database.dump, uploads.tar expected)"
[[ -n "${DATABASE_URL:-}" ]] || fail "DATABASE_URL must be set (the database to restore into)"
[[ "$DATABASE_URL" =~ ^postgres(ql)?:// ]] || fail "DATABASE_URL must be a postgres:// URL"
[[ -n "${MEDIA_ROOT:-}" ]] || fail "MEDIA_ROOT must be set (where the uploaded files go)"
for tool in pg_restore psql tar sha256sum; do
  command -v "$tool" >/dev/null || fail "$tool is not installed"
done
(cd "$backup" && sha256sum --quiet --strict -c SHA256SUMS) || fail "checksum mismatch in $backup: the backup is damaged, nothing was changed"
pg_restore --list "$backup/database.dump" >/dev/null || fail "$backup/database.dump cannot be read by pg_restore, nothing was changed"
psql "$DATABASE_URL" -Atqc 'SELECT 1' >/dev/null || fail "cannot connect to DATABASE_URL, nothing was changed"
[[ "$confirm" == "--yes" ]] || fail "this replaces the database and MEDIA_ROOT; run again with --yes to go on (nothing was changed)"

media="${MEDIA_ROOT%/}"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$media"
incoming="$(mktemp -d "$media.incoming.XXXXXX")"
trap 'rm -rf "$incoming"' EXIT
# The files first, into a directory beside MEDIA_ROOT: a full disk fails here, before the database.
tar -C "$incoming" -xf "$backup/uploads.tar"

pg_restore --clean --if-exists --no-owner --no-privileges --exit-on-error --single-transaction \
  --dbname="$DATABASE_URL" "$backup/database.dump"

# Swap the files by moving the entries, not the directory: MEDIA_ROOT may be a mount point.
previous="$media.before-restore-$stamp"
mkdir "$previous"
find "$media" -mindepth 1 -maxdepth 1 -exec mv -t "$previous" -- {} +
find "$incoming" -mindepth 1 -maxdepth 1 -exec mv -t "$media" -- {} +
echo "restored $backup into the database and $media (the files that were there are in $previous)"
