#!/bin/sh
# Install photo-search for the current user, without root:
#   the app in   ~/.local/lib/photo-search   (this folder's photo-search and _internal)
#   the command  ~/.local/bin/photo-search
#   a menu entry, icons and AppStream metadata under ~/.local/share
#
#   ./install.sh              install, or update an earlier install
#   ./install.sh --uninstall  remove all of the above; photo libraries, their catalogs and
#                             the downloaded models stay where they are
#
# PREFIX=/some/dir ./install.sh installs under that folder instead of ~/.local.
set -eu

APP_ID=io.github.photo_search.PhotoSearch
PREFIX="${PREFIX:-$HOME/.local}"
LIB="$PREFIX/lib/photo-search"
BIN="$PREFIX/bin/photo-search"
SHARE="$PREFIX/share"
DESKTOP="$SHARE/applications/$APP_ID.desktop"
METAINFO="$SHARE/metainfo/$APP_ID.metainfo.xml"
ICONS="$SHARE/icons/hicolor"
HERE=$(cd "$(dirname "$0")" && pwd)

refresh_caches() {
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q "$SHARE/applications" 2>/dev/null || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1; then
        gtk-update-icon-cache -q -t -f "$ICONS" 2>/dev/null || true
    fi
}

uninstall() {
    if [ -L "$BIN" ] && [ "$(readlink "$BIN")" = "$LIB/photo-search" ]; then
        rm -f "$BIN"
    fi
    rm -rf "$LIB"
    rm -f "$DESKTOP" "$METAINFO"
    for icon in "$ICONS"/*/apps/photo-search.png "$ICONS"/*/apps/photo-search.svg; do
        [ -e "$icon" ] && rm -f "$icon"
    done
    refresh_caches
    echo "photo-search is uninstalled (your photo libraries and models are kept)."
}

install() {
    if [ ! -x "$HERE/photo-search" ] || [ ! -d "$HERE/_internal" ] || [ ! -d "$HERE/share" ]; then
        echo "install.sh: run it from the unpacked photo-search folder" >&2
        exit 2
    fi
    mkdir -p "$PREFIX/lib" "$PREFIX/bin" "$SHARE/applications" "$SHARE/metainfo"
    # Copy beside the old install, then swap: an interrupted copy leaves the old one working.
    rm -rf "$LIB.new"
    mkdir "$LIB.new"
    cp -R "$HERE/photo-search" "$HERE/_internal" "$HERE/share" "$LIB.new/"
    cp "$HERE/install.sh" "$LIB.new/install.sh"
    rm -rf "$LIB"
    mv "$LIB.new" "$LIB"
    ln -sfn "$LIB/photo-search" "$BIN"
    sed "s|^Exec=.*|Exec=\"$LIB/photo-search\" gui|" \
        "$HERE/share/applications/$APP_ID.desktop" > "$DESKTOP"
    cp "$HERE/share/metainfo/$APP_ID.metainfo.xml" "$METAINFO"
    for icon in "$HERE"/share/icons/hicolor/*/apps/photo-search.*; do
        size=$(basename "$(dirname "$(dirname "$icon")")")
        mkdir -p "$ICONS/$size/apps"
        cp "$icon" "$ICONS/$size/apps/"
    done
    refresh_caches
    echo "photo-search is installed: open Photo Search from your applications menu, or run $BIN"
    case ":$PATH:" in
        *":$PREFIX/bin:"*) ;;
        *) echo "note: $PREFIX/bin is not on your PATH; add it to run photo-search by name" ;;
    esac
    echo "to uninstall: $LIB/install.sh --uninstall"
}

case "${1:-}" in
    "") install ;;
    --uninstall) uninstall ;;
    *) echo "usage: install.sh [--uninstall]" >&2; exit 2 ;;
esac
