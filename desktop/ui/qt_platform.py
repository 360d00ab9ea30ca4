"""A plain message, instead of Qt's abort, when the window cannot open.

Qt loads its platform plugin (xcb on X11, wayland on Wayland) while the QApplication is made.
When none loads, it logs a few `qt.qpa.*` lines, then a fatal message, and the process aborts
(SIGABRT, a core dump); on a desktop that lacks a system library the plugin needs, a new user
sees Qt's words and nothing else. Its one hint is not to be trusted either: Qt 6.5+ says that
libxcb-cursor0 is needed whenever the xcb plugin fails, even for want of a display.

`platform_guard()` wraps making the QApplication. Its Qt message handler holds the `qt.qpa.*`
lines back and, on the fatal message about the platform plugin, works out why (the plugin's
shared libraries, the display, the plugin's name), prints what to do and exits with
`EXIT_NO_WINDOW`. All of that runs only when Qt fails: on the way to a window the guard reads
a few environment variables and one QLibraryInfo path (which also holds in a frozen build).
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import (
    QLibraryInfo,
    QMessageLogContext,
    QtMsgType,
    qFormatLogMessage,
    qInstallMessageHandler,
)

from desktop import APP_NAME

EXIT_NO_WINDOW = 3
"""The exit status when no platform plugin could start: Qt's state is unusable by then."""

LDD_TIMEOUT_S = 10

PACKAGES: dict[str, tuple[str, str]] = {
    # soname: (Debian/Ubuntu package, Fedora package). Every library outside glibc that the
    # xcb plugin (libqxcb.so, libQt6XcbQpa), Qt6Gui, Qt6DBus and the wayland plugin load,
    # directly or through another library (`ldd` on PySide6 6.11); the Debian names as
    # `dpkg -S` gives them on Debian 12 (Ubuntu 24.04's libglib2.0-0t64 and libpng16-16t64
    # provide the old names), the Fedora ones from the packages' spec files.
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libxcb-glx.so.0": ("libxcb-glx0", "libxcb"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libXau.so.6": ("libxau6", "libXau"),
    "libXdmcp.so.6": ("libxdmcp6", "libXdmcp"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libGLX.so.0": ("libglx0", "libglvnd-glx"),
    "libGLdispatch.so.0": ("libglvnd0", "libglvnd"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libpng16.so.16": ("libpng16-16", "libpng"),
    "libz.so.1": ("zlib1g", "zlib"),
    "libzstd.so.1": ("libzstd1", "libzstd"),
    "libexpat.so.1": ("libexpat1", "expat"),
    "libpcre2-8.so.0": ("libpcre2-8-0", "pcre2"),
    "libbrotlidec.so.1": ("libbrotli1", "libbrotli"),
    "libbrotlicommon.so.1": ("libbrotli1", "libbrotli"),
    "libbsd.so.0": ("libbsd0", "libbsd"),
    "libmd.so.0": ("libmd0", "libmd"),
    "libsystemd.so.0": ("libsystemd0", "systemd-libs"),
    "libcap.so.2": ("libcap2", "libcap"),
    "libgcrypt.so.20": ("libgcrypt20", "libgcrypt"),
    "libgpg-error.so.0": ("libgpg-error0", "libgpg-error"),
    "liblzma.so.5": ("liblzma5", "xz-libs"),
    "liblz4.so.1": ("liblz4-1", "lz4-libs"),
    "libffi.so.8": ("libffi8", "libffi"),
    "libstdc++.so.6": ("libstdc++6", "libstdc++"),
    "libgcc_s.so.1": ("libgcc-s1", "libgcc"),
    "libwayland-client.so.0": ("libwayland-client0", "libwayland-client"),
    "libwayland-cursor.so.0": ("libwayland-cursor0", "libwayland-cursor"),
    "libwayland-egl.so.1": ("libwayland-egl1", "libwayland-egl"),
}

WINDOW_LIBRARIES = (
    # What the window needs installed (the README's install commands): the libraries that the
    # xcb plugin, its GL integrations, Qt6Gui, Qt6Widgets and Qt6DBus name themselves (their
    # own dependencies come with them), less libstdc++, libgcc_s, zlib and zstd, which the
    # package managers themselves need.
    "libxcb-cursor.so.0",
    "libxcb-icccm.so.4",
    "libxcb-image.so.0",
    "libxcb-keysyms.so.1",
    "libxcb-render-util.so.0",
    "libxcb-util.so.1",
    "libxkbcommon-x11.so.0",
    "libxkbcommon.so.0",
    "libxcb.so.1",
    "libxcb-glx.so.0",
    "libxcb-randr.so.0",
    "libxcb-render.so.0",
    "libxcb-shape.so.0",
    "libxcb-shm.so.0",
    "libxcb-sync.so.1",
    "libxcb-xfixes.so.0",
    "libxcb-xkb.so.1",
    "libX11-xcb.so.1",
    "libX11.so.6",
    "libEGL.so.1",
    "libGL.so.1",
    "libfontconfig.so.1",
    "libfreetype.so.6",
    "libdbus-1.so.3",
    "libglib-2.0.so.0",
)

BUNDLED_PREFIXES = ("libQt6", "libicu", "libpyside6", "libshiboken6")
"""Libraries that come with PySide6 (and so with the app), not with the system."""

_NOT_FOUND = re.compile(r"^\s*(\S+) => not found\s*$", re.MULTILINE)
_LOADER_ERROR = re.compile(r"error while loading shared libraries: (.+?): (.+)$", re.MULTILINE)
_MUSL_ERROR = re.compile(r"Error loading shared library (\S+): (.+?) \(needed by", re.MULTILINE)
_DLOPEN_ERROR = re.compile(r"^(\S+?\.so[.\d]*): (.+)$")
_QT_TRIED = re.compile(r'Could not (load|find) the Qt platform plugin "([^"]+)"')
_QT_AVAILABLE = re.compile(r"Available platform plugins are: (.*?)\.?\s*$", re.MULTILINE)


@dataclass(frozen=True)
class MissingLibrary:
    """A shared library a plugin needs and the loader cannot load."""

    soname: str
    reason: str = ""
    """Empty when the library is not found; else the loader's words ("file too short")."""

    def __str__(self) -> str:
        return f"{self.soname} ({self.reason})" if self.reason else self.soname


@dataclass(frozen=True)
class Attempt:
    """One platform plugin Qt tried."""

    name: str
    found: bool
    """Whether Qt has a plugin of that name."""
    plugin: Path | None = None
    """Its file, where it could be found."""
    missing: tuple[MissingLibrary, ...] = ()
    load_error: str = ""
    """What loading the plugin said, when no missing library explains it."""


@dataclass(frozen=True)
class Failure:
    """What is known when Qt gives up on the platform plugins."""

    attempts: tuple[Attempt, ...]
    qt_lines: tuple[str, ...] = ()
    available: tuple[str, ...] = ()
    environ: Mapping[str, str] = field(default_factory=dict)


# --- shared libraries ---------------------------------------------------------------------


def parse_ldd(output: str) -> list[MissingLibrary]:
    """The libraries `ldd` could not load: its "=> not found" lines (the plugin's own needs
    and its libraries' needs), and the loader's error when a library is found but broken
    (glibc's ldd prints that on stdout, not stderr: `output` is both)."""
    missing = [MissingLibrary(soname) for soname in _NOT_FOUND.findall(output)]
    for path, reason in _LOADER_ERROR.findall(output):
        missing.append(MissingLibrary(Path(path).name, f"{path}: {reason.strip()}"))
    for soname, reason in _MUSL_ERROR.findall(output):  # musl's ldd
        not_found = reason.startswith("No such file")
        missing.append(MissingLibrary(Path(soname).name, "" if not_found else reason))
    return _unique(missing)


def parse_load_error(text: str, plugin: Path | None = None) -> list[MissingLibrary]:
    """The library a dlopen error names ("libxcb-cursor.so.0: cannot open shared object
    file: ..."), unless it is about the plugin itself (an undefined symbol, say)."""
    match = _DLOPEN_ERROR.match(text.strip())
    if not match or (plugin is not None and Path(match[1]).name == plugin.name):
        return []
    path, reason = match[1], match[2].strip()
    if reason.startswith("cannot open shared object file"):
        return [MissingLibrary(Path(path).name)]
    if reason.startswith("undefined symbol"):
        return []
    return [MissingLibrary(Path(path).name, f"{path}: {reason}")]


def missing_libraries(plugin: Path) -> tuple[list[MissingLibrary], str]:
    """The libraries `plugin` needs and cannot load, and what loading it said otherwise.

    `ldd` lists every missing library, deep ones included; without it, loading the plugin
    with ctypes names the first one. Only run when Qt has already failed.
    """
    ldd = shutil.which("ldd")
    if ldd:
        try:
            result = subprocess.run(
                [ldd, str(plugin)], capture_output=True, text=True, timeout=LDD_TIMEOUT_S
            )
        except (OSError, subprocess.SubprocessError):
            pass
        else:
            missing = parse_ldd(result.stdout + result.stderr)
            if missing or result.returncode == 0:
                return missing, ""
    try:
        ctypes.CDLL(str(plugin))
    except OSError as exc:
        return parse_load_error(str(exc), plugin), str(exc)
    return [], ""


def packages_for(missing: Iterable[MissingLibrary]) -> tuple[list[str], list[str], list[str]]:
    """(Debian/Ubuntu packages, Fedora packages, sonames the table does not know)."""
    debian: list[str] = []
    fedora: list[str] = []
    unknown: list[str] = []
    for library in missing:
        if library.soname in PACKAGES:
            deb, rpm = PACKAGES[library.soname]
            debian += [deb] if deb not in debian else []
            fedora += [rpm] if rpm not in fedora else []
        elif library.soname not in unknown:
            unknown.append(library.soname)
    return debian, fedora, unknown


# --- platform plugins ---------------------------------------------------------------------


def requested_platforms(environ: Mapping[str, str]) -> list[str]:
    """The platform plugins Qt tries, in order: QT_QPA_PLATFORM ("wayland;xcb", each name
    with optional ":arguments"), else on Linux wayland first in a Wayland session, then xcb."""
    requested = environ.get("QT_QPA_PLATFORM", "")
    if requested:
        return [name.split(":")[0] for name in requested.split(";") if name.split(":")[0]]
    if environ.get("WAYLAND_DISPLAY") or environ.get("XDG_SESSION_TYPE") == "wayland":
        return ["wayland", "xcb"]
    return ["xcb"]


def platform_directories(environ: Mapping[str, str]) -> list[Path]:
    """Where Qt looks for platform plugins: QT_QPA_PLATFORM_PLUGIN_PATH, else QT_PLUGIN_PATH's
    folders and Qt's own plugins folder (QLibraryInfo: right in a frozen build too)."""
    if environ.get("QT_QPA_PLATFORM_PLUGIN_PATH"):
        return [Path(environ["QT_QPA_PLATFORM_PLUGIN_PATH"])]
    extra = [p for p in environ.get("QT_PLUGIN_PATH", "").split(os.pathsep) if p]
    plugins = QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)
    return [Path(folder) / "platforms" for folder in [*extra, plugins]]


def plugin_file(name: str, directories: Sequence[Path]) -> Path | None:
    """The file of platform plugin `name`: libq<name>.so (the wayland-egl and wayland-brcm
    platforms live in the wayland plugin's file)."""
    stems = [name, "wayland"] if name.startswith("wayland") else [name]
    for directory in directories:
        for stem in stems:
            for candidate in (f"libq{stem}.so", f"libq{stem}-generic.so"):
                if (directory / candidate).is_file():
                    return directory / candidate
    return None


def diagnose(
    qt_lines: Sequence[str],
    environ: Mapping[str, str],
    directories: Sequence[Path],
    libraries: Callable[[Path], tuple[list[MissingLibrary], str]] = missing_libraries,
) -> Failure:
    """What went wrong, from Qt's lines (which plugins it tried, which it found) and from
    the plugins' libraries."""
    tried: dict[str, bool] = {}
    for line in qt_lines:
        for verb, name in _QT_TRIED.findall(line):
            tried.setdefault(name, verb == "load")
    attempts = []
    for name in list(tried) or requested_platforms(environ):
        plugin = plugin_file(name, directories) if tried.get(name, True) else None
        missing: list[MissingLibrary] = []
        error = ""
        if plugin is not None and sys.platform.startswith("linux"):
            missing, error = libraries(plugin)
        found = tried.get(name, plugin is not None)
        attempts.append(Attempt(name, found, plugin, tuple(missing), "" if missing else error))
    available: tuple[str, ...] = ()
    for line in qt_lines:
        match = _QT_AVAILABLE.search(line)
        if match:
            available = tuple(n.strip() for n in match[1].split(",") if n.strip())
    return Failure(tuple(attempts), tuple(qt_lines), available, dict(environ))


# --- the message --------------------------------------------------------------------------


def explain(failure: Failure, program: str = APP_NAME) -> str:
    """What to tell the user: the first cause that fits, most specific first."""
    env = failure.environ
    head = f"{program}: the window cannot open: "
    tail = f"The commands work without a window: {program} --help"
    broken = [a for a in failure.attempts if a.missing]
    if broken:
        return "\n".join([head + _not_loaded(broken), *_install(broken, program), tail])
    unknown = [a.name for a in failure.attempts if not a.found]
    if unknown and len(unknown) == len(failure.attempts):
        names = " or ".join(f'"{name}"' for name in unknown)
        setting = f" (QT_QPA_PLATFORM={env['QT_QPA_PLATFORM']})" if "QT_QPA_PLATFORM" in env else ""
        lines = [head + f"Qt has no platform plugin named {names}{setting}."]
        if failure.available:
            lines.append(f"The platform plugins it has: {', '.join(failure.available)}.")
        lines.append(
            "Unset QT_QPA_PLATFORM to let Qt choose, or set it to one it has "
            "(xcb on X11, wayland on Wayland)."
        )
        return "\n".join([*lines, tail])
    tried = {a.name for a in failure.attempts}
    if "xcb" in tried and not env.get("DISPLAY"):
        if not env.get("WAYLAND_DISPLAY"):
            return "\n".join(
                [
                    head + "there is no display to open it on "
                    "(neither DISPLAY nor WAYLAND_DISPLAY is set).",
                    f"Start {program} from a desktop session (or over ssh -X).",
                    tail,
                ]
            )
        if "wayland" not in tried:
            return "\n".join(
                [
                    head + f"Qt was asked for X11 (QT_QPA_PLATFORM={env.get('QT_QPA_PLATFORM')})"
                    " but DISPLAY is not set; this is a Wayland session.",
                    "Unset QT_QPA_PLATFORM, or set it to wayland.",
                    tail,
                ]
            )
    if "xcb" in tried and any("could not connect to display" in line for line in failure.qt_lines):
        return "\n".join(
            [
                head + f'Qt could not connect to the X display "{env.get("DISPLAY", "")}" '
                "(DISPLAY).",
                "Is the X server running, and does it let you in (XAUTHORITY, xhost)? "
                f"Start {program} from the desktop session itself.",
                tail,
            ]
        )
    lines = [head + "Qt could not start any of its platform plugins. Qt said:"]
    lines += [f"  {line}" for line in failure.qt_lines]
    lines += [
        f'Loading the "{a.name}" plugin ({a.plugin}) says: {a.load_error}'
        for a in failure.attempts
        if a.load_error
    ]
    lines.append(f"QT_DEBUG_PLUGINS=1 {program} shows more of what Qt tried.")
    return "\n".join([*lines, tail])


def _not_loaded(broken: Sequence[Attempt]) -> str:
    names = " and ".join(f'"{a.name}"' for a in broken)
    plugins = "platform plugin" if len(broken) == 1 else "platform plugins"
    return f"Qt's {names} {plugins} could not be loaded."


def _install(broken: Sequence[Attempt], program: str) -> list[str]:
    missing = _unique(library for attempt in broken for library in attempt.missing)
    if all(not library.reason for library in missing):
        state = "are missing"
    elif all(library.reason for library in missing):
        state = "cannot be loaded"
    else:
        state = "are missing or cannot be loaded"
    needs = "It needs" if len(broken) == 1 else "They need"
    lines = [f"{needs} system libraries that {state}: {_listed(missing)}"]
    bundled = [m for m in missing if m.soname.startswith(BUNDLED_PREFIXES)]
    system = [m for m in missing if m not in bundled]
    debian, fedora, unknown = packages_for(system)
    if debian:
        verb = "Install" if state == "are missing" else "Install (or reinstall)"
        lines.append(f"{verb} them, then start {program} again:")
        lines.append(f"  Debian/Ubuntu: sudo apt install {' '.join(debian)}")
        lines.append(f"  Fedora:        sudo dnf install {' '.join(fedora)}")
    elif unknown:
        lines.append(f"Install the package of each, then start {program} again:")
    for soname in unknown:
        lines.append(
            f"  {soname}: find its package with `apt-file search {soname}` "
            f"or `dnf provides '*/{soname}'`"
        )
    if bundled:
        names = ", ".join(m.soname for m in bundled)
        lines.append(f"{names} come with {program} itself (PySide6): reinstall {program}.")
    return lines


def _listed(missing: Sequence[MissingLibrary]) -> str:
    return ", ".join(str(library) for library in missing)


def _unique(items: Iterable[MissingLibrary]) -> list[MissingLibrary]:
    seen: dict[str, MissingLibrary] = {}
    for item in items:
        seen.setdefault(item.soname, item)
    return list(seen.values())


# --- the guard ----------------------------------------------------------------------------


class _Guard:
    """The message handler while the QApplication is made."""

    def __init__(self) -> None:
        self.previous: Callable | None = None
        """The handler before this one; None for Qt's default."""
        self.directories = platform_directories(os.environ)
        self.qpa_lines: list[str] = []
        """Qt's qt.qpa.* lines as Qt prints them: what it tried."""
        self.held: list[str] = []
        """Those of them not printed yet: held until the outcome is known."""

    def handle(self, mode: QtMsgType, context: QMessageLogContext, message: str) -> None:
        if mode == QtMsgType.QtFatalMsg and "platform plugin" in message:
            self.fail(message)
            return
        if (context.category or "").startswith("qt.qpa."):
            self.qpa_lines.append(qFormatLogMessage(mode, context, message))
            if self.previous is None:  # held; another handler gets them at once, with context
                self.held.append(self.qpa_lines[-1])
                return
        self.pass_on(mode, context, message)

    def pass_on(self, mode: QtMsgType, context: QMessageLogContext, message: str) -> None:
        if self.previous is not None:
            self.previous(mode, context, message)
        else:  # Qt's default handler: the formatted message on stderr
            sys.stderr.write(qFormatLogMessage(mode, context, message) + "\n")
            sys.stderr.flush()

    def release(self) -> None:
        """The platform is up: Qt's lines are printed as they would have been."""
        if self.held:
            sys.stderr.write("".join(line + "\n" for line in self.held))
            sys.stderr.flush()
            self.held = []

    def fail(self, fatal: str) -> None:
        """Say why the window cannot open and end the process now: returning would abort."""
        lines = [line for text in [*self.qpa_lines, fatal] for line in text.splitlines() if line]
        try:
            text = explain(diagnose(lines, os.environ, self.directories))
        except Exception as exc:  # any message beats Qt's abort
            text = "\n".join([f"{APP_NAME}: the window cannot open. Qt said:", *lines, repr(exc)])
        try:
            sys.stdout.flush()
            sys.stderr.write(text + "\n")
            sys.stderr.flush()
        finally:
            os._exit(EXIT_NO_WINDOW)


@contextmanager
def platform_guard() -> Iterator[None]:
    """Make the QApplication inside this: if no platform plugin starts, the process prints
    why and what to install, and exits with EXIT_NO_WINDOW instead of aborting. Qt's other
    messages meanwhile go where they would have gone."""
    guard = _Guard()
    guard.previous = qInstallMessageHandler(guard.handle)
    try:
        yield
    finally:
        qInstallMessageHandler(guard.previous)
        guard.release()
