#!/usr/bin/env bash
# System packages the full test suite uses (Debian): speech and tone generation for the audio tests,
# Korean (Hangul) fonts so plots and the browser render Korean, Chromium for the web-explorer test,
# and PostgreSQL 15 with pgvector >= 0.8.0 for the database backend (scripts/postgres.sh starts it).
# Installed only when running as root; tests that need a missing one skip and say why.
# Idempotent: when everything is present it only runs a few dpkg checks (well under a second).
#
# pgvector: Debian bookworm has PostgreSQL 15 but no pgvector package, so it is built once per machine
# (~30 s) from Debian's own source package in the next release (trixie: pgvector 0.8.0, with iterative
# index scans and halfvec), fetched through a private apt folder so the system's package lists stay as
# they are. Skipped when vector.control already says >= 0.8.0.
set -euo pipefail
PG_MAJOR=15
PGVECTOR_MIN=0.8.0
PGVECTOR_SUITE=${EMBEDLAB_PGVECTOR_SUITE:-trixie}
pkgs=(espeak-ng sox fonts-nanum chromium fonts-noto-cjk
      "postgresql-$PG_MAJOR" "postgresql-server-dev-$PG_MAJOR" gcc make dpkg-dev)

version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }
pgvector_version() {  # the version the installed vector.control offers, or nothing
  local ctl="/usr/share/postgresql/$PG_MAJOR/extension/vector.control"
  [ -f "$ctl" ] && [ -f "/usr/lib/postgresql/$PG_MAJOR/lib/vector.so" ] || return 0
  sed -n "s/^[[:space:]]*default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" "$ctl"
}
pgvector_ok() { local v; v=$(pgvector_version); [ -n "$v" ] && version_ge "$v" "$PGVECTOR_MIN"; }

missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
need_pgvector=0; pgvector_ok || need_pgvector=1
[ ${#missing[@]} -eq 0 ] && [ "$need_pgvector" = 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  what=("${missing[@]}"); [ "$need_pgvector" = 1 ] && what+=("pgvector>=$PGVECTOR_MIN (built from source)")
  echo "note: not root; cannot install ${what[*]} (tests needing them will skip)" >&2; exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-o DPkg::Lock::Timeout=600)   # wait for another apt/dpkg on a shared machine instead of failing

if [ ${#missing[@]} -gt 0 ]; then
  # A fresh PostgreSQL install would create and start a 'main' cluster on port 5432 that nothing here
  # uses; the project starts its own throw-away cluster (scripts/postgres.sh).
  if ! dpkg -s postgresql-common >/dev/null 2>&1; then
    mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false  # embedlab: scripts/postgres.sh starts its own cluster" \
      > /etc/postgresql-common/createcluster.d/embedlab.conf
  fi
  echo "==> apt-get install ${missing[*]}"
  apt-get "${apt_opts[@]}" update -qq >/dev/null
  apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

pgvector_ok && exit 0
# One build at a time on this machine; whoever waited finds it done.
lockdir=/var/lock; [ -d "$lockdir" ] && [ -w "$lockdir" ] || lockdir=/tmp
exec 9>"$lockdir/embedlab-pgvector.lock"
flock -w 900 9
pgvector_ok && exit 0
echo "==> building pgvector >= $PGVECTOR_MIN for PostgreSQL $PG_MAJOR from Debian's $PGVECTOR_SUITE source package"
work=$(mktemp -d /tmp/embedlab-pgvector.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"   # apt downloads as the unprivileged _apt user
mkdir -p "$work/sources.list.d" "$work/lists/partial" "$work/cache/archives/partial" "$work/src"
# The Debian mirror the machine already uses: a source with suite <codename> and component main
# (deb822 or one-line format), else Debian's CDN.
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
uri=$(awk -v want="$codename" '
  function flush() { if (u != "" && (" " s " ") ~ (" " want " ") && (" " c " ") ~ / main /) { print u; u = ""; exit } u = s = c = "" }
  /^[[:space:]]*$/ { flush(); next }
  tolower($1) == "uris:" { u = $2 } tolower($1) == "suites:" { $1 = ""; s = $0 } tolower($1) == "components:" { $1 = ""; c = $0 }
  END { flush() }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
[ -n "$uri" ] || uri=$(sed -e 's/\[[^]]*\]//' /etc/apt/sources.list 2>/dev/null \
        | awk -v want="$codename" '$1 == "deb" && $3 == want { for (i = 4; i <= NF; i++) if ($i == "main") { print $2; exit } }' || true)
[ -n "$uri" ] || uri=http://deb.debian.org/debian
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
cat > "$work/sources.list.d/embedlab-pgvector-src.sources" <<EOF
Types: deb-src
URIs: $uri
Suites: $PGVECTOR_SUITE
Components: main
Signed-By: $keyring
EOF
apt_private=("${apt_opts[@]}" -o "Dir::Etc::SourceParts=$work/sources.list.d" -o Dir::Etc::SourceList=/dev/null
             -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache")
if ! apt-get "${apt_private[@]}" -qq update >"$work/apt.log" 2>&1 \
   || ! (cd "$work/src" && apt-get "${apt_private[@]}" -qq source --download-only pgvector >>"$work/apt.log" 2>&1); then
  cat "$work/apt.log" >&2
  echo "error: could not fetch Debian's pgvector source package ($PGVECTOR_SUITE from $uri)" >&2; exit 1
fi
(cd "$work/src" && dpkg-source --no-check -x ./*.dsc pgvector >/dev/null)   # apt verified the hashes
# Debian's patch already drops -march=native; OPTFLAGS="" keeps the build portable either way
# (pgvector >= 0.7 picks SIMD code paths at run time).
pg_config="/usr/lib/postgresql/$PG_MAJOR/bin/pg_config"
if ! make -C "$work/src/pgvector" -j"$(nproc)" PG_CONFIG="$pg_config" OPTFLAGS="" >"$work/build.log" 2>&1 \
   || ! make -C "$work/src/pgvector" PG_CONFIG="$pg_config" OPTFLAGS="" install >>"$work/build.log" 2>&1; then
  tail -n 40 "$work/build.log" >&2
  echo "error: building pgvector failed (log above)" >&2; exit 1
fi
if ! pgvector_ok; then
  echo "error: installed pgvector is $(pgvector_version); need >= $PGVECTOR_MIN ($PGVECTOR_SUITE has an older one?)" >&2
  exit 1
fi
echo "==> pgvector $(pgvector_version) installed"
