#!/usr/bin/env bash
# Install the built SampleMind Companion app folder on a Linux desktop (menu entry, icons,
# AppStream metadata, `companion` on the PATH). build.sh copies this script into the app
# folder as install.sh; run it from there:
#
#   ./install.sh                     for you: ~/.local/lib, ~/.local/bin, ~/.local/share
#   sudo ./install.sh --system       for everyone: /opt/samplemind-companion, /usr/local
#   ./install.sh --prefix DIR        under DIR (DIR/lib, DIR/bin, DIR/share)
#   ./install.sh --uninstall [...]   remove what the same options installed
set -euo pipefail
APP_ID="io.samplemind.Companion"
SRC="$(cd "$(dirname "$0")" && pwd)"
PREFIX="$HOME/.local"
LIBDIR=""
UNINSTALL=0

while (($#)); do
  case "$1" in
    --system) PREFIX="/usr/local"; LIBDIR="/opt/samplemind-companion"; shift ;;
    --prefix) PREFIX="$2"; shift 2 ;;
    --uninstall) UNINSTALL=1; shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
LIBDIR="${LIBDIR:-$PREFIX/lib/samplemind-companion}"
SHARE="$PREFIX/share"
ASSETS="$SRC/_internal/assets"

refresh() {
  command -v update-desktop-database >/dev/null && update-desktop-database -q "$SHARE/applications" || true
  command -v gtk-update-icon-cache >/dev/null && [ -f "$SHARE/icons/hicolor/index.theme" ] \
    && gtk-update-icon-cache -q -t "$SHARE/icons/hicolor" || true
}

if [ "$UNINSTALL" = 1 ]; then
  rm -f "$PREFIX/bin/companion" "$SHARE/applications/$APP_ID.desktop" "$SHARE/metainfo/$APP_ID.metainfo.xml"
  rm -f "$SHARE"/icons/hicolor/*/apps/"$APP_ID".png "$SHARE/icons/hicolor/scalable/apps/$APP_ID.svg"
  rm -rf "$LIBDIR"
  refresh
  echo "removed SampleMind Companion from $PREFIX (app folder $LIBDIR)"
  exit 0
fi

if [ ! -x "$SRC/companion" ] || [ ! -d "$ASSETS" ]; then
  echo "install.sh: $SRC is not a built app folder (no companion executable or _internal/assets) — run packaging/build.sh first" >&2
  exit 1
fi

if [ "$SRC" != "$(mkdir -p "$LIBDIR" && cd "$LIBDIR" && pwd)" ]; then
  rm -rf "$LIBDIR"
  mkdir -p "$(dirname "$LIBDIR")"
  cp -a "$SRC" "$LIBDIR"
fi
mkdir -p "$PREFIX/bin" "$SHARE/applications" "$SHARE/metainfo" "$SHARE/icons/hicolor/scalable/apps"
ln -sfn "$LIBDIR/companion" "$PREFIX/bin/companion"
sed -e "s|^Exec=.*|Exec=$LIBDIR/companion|" -e "s|^TryExec=.*|TryExec=$LIBDIR/companion|" \
  "$ASSETS/$APP_ID.desktop" > "$SHARE/applications/$APP_ID.desktop"
cp "$ASSETS/$APP_ID.metainfo.xml" "$SHARE/metainfo/"
cp "$ASSETS/$APP_ID.svg" "$SHARE/icons/hicolor/scalable/apps/"
(cd "$ASSETS/icons" && find hicolor -name "$APP_ID.png" -exec cp --parents {} "$SHARE/icons/" \;)
refresh
echo "installed SampleMind Companion: $LIBDIR; command $PREFIX/bin/companion; menu entry $SHARE/applications/$APP_ID.desktop"
case ":$PATH:" in *":$PREFIX/bin:"*) ;; *) echo "note: add $PREFIX/bin to your PATH to run 'companion' from a terminal" ;; esac
