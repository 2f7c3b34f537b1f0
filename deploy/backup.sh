#!/usr/bin/env bash
# Back up the accountability tracker: the PostgreSQL database (pg_dump, custom format) and the
# uploaded files (evidence, inspection photos), into one new directory with checksums.
#
#   deploy/backup.sh [DEST]          DEST defaults to $BACKUP_DIR, else ./backups
#
# Reads DATABASE_URL and MEDIA_ROOT from the environment, e.g. on one host:
#   set -a; . /etc/accountability/env; set +a; deploy/backup.sh /var/backups/accountability
# BACKUP_KEEP=N keeps only the N newest backups in DEST (default: keep all).
# Prints the backup's path on the last line. Restore with deploy/restore.sh.
set -euo pipefail
umask 077

fail() { echo "backup: $*" >&2; exit 1; }

[[ -n "${DATABASE_URL:-}" ]] || fail "DATABASE_URL must be set (postgres://user:password@host:5432/name)"
[[ "$DATABASE_URL" =~ ^postgres(ql)?:// ]] || fail "DATABASE_URL must be a postgres:// URL (backups are for PostgreSQL)"
[[ -n "${MEDIA_ROOT:-}" ]] || fail "MEDIA_ROOT must be set (the uploaded files' directory)"
[[ -d "$MEDIA_ROOT" ]] || fail "MEDIA_ROOT=$MEDIA_ROOT is not a directory"
keep="${BACKUP_KEEP:-0}"
[[ "$keep" =~ ^[0-9]+$ ]] || fail "BACKUP_KEEP=$keep is not a whole number"
for tool in pg_dump tar sha256sum; do
  command -v "$tool" >/dev/null || fail "$tool is not installed"
done

dest="${1:-${BACKUP_DIR:-./backups}}"
mkdir -p "$dest"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
final="$dest/accountability-$stamp"
[[ ! -e "$final" ]] || fail "$final already exists"
work="$final.partial"
trap 'rm -rf "$work"' EXIT
mkdir "$work"

# The database first, then the files: evidence is append-only, so every file the dump refers to
# is already on disk when tar reads the directory (a file uploaded meanwhile is merely extra).
# pg_dump reads one consistent snapshot while the site keeps running.
pg_dump --format=custom --compress=6 --no-owner --no-privileges --file="$work/database.dump" "$DATABASE_URL"
# Photos and PDFs are compressed already: tar without gzip is as small and much faster.
tar -C "$MEDIA_ROOT" -cf "$work/uploads.tar" .
{
  echo "created_at=$stamp"
  echo "database=$(pg_dump --version)"
  echo "files=$(tar -tf "$work/uploads.tar" | grep -vc '/$' || true)"
} > "$work/MANIFEST"
(cd "$work" && sha256sum database.dump uploads.tar MANIFEST > SHA256SUMS)

# Renamed only when whole, so a crash never leaves something that looks like a good backup.
mv "$work" "$final"
trap - EXIT

if (( keep > 0 )); then
  # Names sort by time; drop all but the newest $keep complete backups.
  mapfile -t old < <(find "$dest" -maxdepth 1 -type d -name 'accountability-*' ! -name '*.partial' | sort | head -n -"$keep")
  for dir in "${old[@]}"; do rm -rf -- "$dir"; done
fi
echo "$final"
