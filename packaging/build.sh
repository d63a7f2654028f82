#!/usr/bin/env bash
# Build the SampleMind Companion app folder (PyInstaller, one-folder) for this platform.
#
#   packaging/build.sh                 fresh build environment in build/venv, app in dist/companion
#   packaging/build.sh --python PY     use an existing Python environment (must hold the app)
#   packaging/build.sh --archive       also write dist/samplemind-companion-<version>-<os>-<arch>.tar.gz
#
# Options: --dist DIR (default dist), --work DIR (default build/pyinstaller), --no-self-test,
# --no-strip. Needs Python >= 3.11 with venv; on Debian/Ubuntu also libportaudio2 (bundled
# into the app) and binutils (strip); run as root to have them installed.
# Ends with the folder's size, `companion --version` and `companion --self-test` from the
# bundle (with ALSA's null device when the machine has no sound card).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIST="$ROOT/dist"
WORK="$ROOT/build/pyinstaller"
PY=""
SELF_TEST=1
STRIP=1
ARCHIVE=0

while (($#)); do
  case "$1" in
    --python) PY="$2"; shift 2 ;;
    --dist) DIST="$(mkdir -p "$2" && cd "$2" && pwd)"; shift 2 ;;
    --work) WORK="$(mkdir -p "$2" && cd "$2" && pwd)"; shift 2 ;;
    --no-self-test) SELF_TEST=0; shift ;;
    --no-strip) STRIP=0; shift ;;
    --archive) ARCHIVE=1; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

log() { printf '== %s\n' "$*" >&2; }

# -- system libraries bundled into the app (Linux) ---------------------------------------------
if [ "$(uname -s)" = Linux ] && command -v dpkg-query >/dev/null; then
  missing=()
  for p in libportaudio2 binutils python3-venv; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    if [ "$(id -u)" = 0 ]; then
      log "installing ${missing[*]}"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
      echo "build.sh: missing Debian packages ${missing[*]} — install them (sudo apt-get install ${missing[*]})" >&2
      exit 1
    fi
  fi
fi

# -- the build environment ---------------------------------------------------------------------
if [ -z "$PY" ]; then
  VENV="$ROOT/build/venv"
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating the build environment $VENV"
    python3 -m venv "$VENV"
  fi
  PY="$VENV/bin/python"
  stamp="$VENV/.installed"
  if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
    log "installing the app (clap + gui extras) and PyInstaller into $VENV"
    "$PY" -m pip install -q --upgrade pip
    "$PY" -m pip install -q "$ROOT[clap,gui]" "pyinstaller>=6.10"
    touch "$stamp"
  fi
fi
"$PY" - <<'PYCHECK'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"build.sh: Python >= 3.11 needed, {sys.executable} is {sys.version.split()[0]}")
PYCHECK
"$PY" -c "import PyInstaller" 2>/dev/null || "$PY" -m pip install -q "pyinstaller>=6.10"

# -- PyInstaller ---------------------------------------------------------------------------------
log "building with PyInstaller ($("$PY" -m PyInstaller --version)) into $DIST/companion"
start=$(date +%s)
(cd "$ROOT" && "$PY" -m PyInstaller --noconfirm --log-level WARN \
  --distpath "$DIST" --workpath "$WORK" packaging/companion.spec)
APP="$DIST/companion"

# Strip debug symbols from the shared libraries, except those under *.libs/ (patched by
# auditwheel: stripping breaks their program headers) and the executable (its archive is appended).
if [ "$STRIP" = 1 ] && [ "$(uname -s)" = Linux ] && command -v strip >/dev/null; then
  n=0
  while IFS= read -r -d '' f; do
    if [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ]; then
      strip --strip-unneeded "$f" 2>/dev/null && n=$((n + 1)) || true
    fi
  done < <(find "$APP/_internal" -type f \( -name '*.so' -o -name '*.so.*' \) -not -path '*.libs/*' -print0)
  log "stripped $n shared libraries"
fi
if [ "$(uname -s)" = Linux ]; then
  install -m 755 "$ROOT/packaging/install-linux.sh" "$APP/install.sh"  # menu entry, icons, PATH
fi
log "built in $(( $(date +%s) - start )) s: $APP ($(du -sh "$APP" | cut -f1))"

# -- smoke test of the bundle --------------------------------------------------------------------
"$APP/companion" --version
if [ "$SELF_TEST" = 1 ]; then
  if [ "$(uname -s)" = Linux ] && [ -z "${ALSA_CONFIG_PATH:-}" ] && ! grep -qs '^ *[0-9]' /proc/asound/cards; then
    # No sound card (CI, containers): ALSA's null device lets the audio stream open.
    conf="$WORK/asound-null.conf"
    mkdir -p "$WORK"
    printf 'pcm.!default { type null }\n' > "$conf"
    export ALSA_CONFIG_PATH="/usr/share/alsa/alsa.conf:$conf"
    log "no sound card: self-test with ALSA's null device"
  fi
  "$APP/companion" --self-test
fi

if [ "$ARCHIVE" = 1 ]; then
  version="$("$APP/companion" --version | awk '{print $2}')"
  os="$(uname -s | tr '[:upper:]' '[:lower:]')"
  tarball="$DIST/samplemind-companion-$version-$os-$(uname -m).tar.gz"
  tar -C "$DIST" -czf "$tarball" companion
  log "archive $tarball ($(du -sh "$tarball" | cut -f1))"
fi
