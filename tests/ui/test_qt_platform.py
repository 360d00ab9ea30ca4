"""When Qt cannot load a platform plugin the app says why and what to install, and exits
with its own status instead of Qt's abort (SIGABRT, a core dump).

The window tests start the real app in a process of its own, as a user would; the captured
texts in `captured/` are real `ldd` and Qt output from a Debian 12 machine without
libwayland-cursor0 and with an empty libxcb-cursor.so.0 put first on LD_LIBRARY_PATH.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QLibraryInfo

from desktop.ui.qt_platform import (
    BUNDLED_PREFIXES,
    EXIT_NO_WINDOW,
    PACKAGES,
    WINDOW_LIBRARIES,
    Attempt,
    Failure,
    MissingLibrary,
    diagnose,
    explain,
    packages_for,
    parse_ldd,
    parse_load_error,
    requested_platforms,
)
from tests.conftest import REPO_ROOT

CAPTURED = Path(__file__).parent / "captured"
LINUX = sys.platform.startswith("linux")
DISPLAY_VARIABLES = ("DISPLAY", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE", "QT_QPA_PLATFORM")
QT_GAVE_UP_ON_XCB = [
    "qt.qpa.plugin: From 6.5.0, xcb-cursor0 or libxcb-cursor0 is needed to load the Qt xcb "
    "platform plugin.",
    'qt.qpa.plugin: Could not load the Qt platform plugin "xcb" in "" even though it was found.',
    "This application failed to start because no Qt platform plugin could be initialized. "
    "Reinstalling the application may fix this problem.",
]
GLIBC = re.compile(r"^(linux-vdso|ld-linux|libc|libm|libdl|libpthread|librt|libresolv)[.-]")


def captured(name: str) -> str:
    return (CAPTURED / name).read_text()


def plugins_folder() -> Path:
    return Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"


def start_the_window(tmp_path: Path, **environ: str) -> subprocess.CompletedProcess:
    """`python -m desktop gui` in tmp_path, where a core dump would land, with core dumps
    allowed as far as the hard limit lets them."""
    env = {k: v for k, v in os.environ.items() if k not in DISPLAY_VARIABLES}
    env.update(PYTHONPATH=str(REPO_ROOT), **environ)
    command = [sys.executable, "-m", "desktop", "gui", "--library", str(tmp_path / "library")]
    shell = 'ulimit -S -c "$(ulimit -H -c)" 2>/dev/null; exec "$@"'
    return subprocess.run(
        ["sh", "-c", shell, "sh", *command],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_ended_by_the_app(result: subprocess.CompletedProcess, tmp_path: Path) -> None:
    assert result.returncode == EXIT_NO_WINDOW, (result.returncode, result.stderr)
    assert not list(tmp_path.glob("core*")), "Qt aborted and dumped core"
    assert "This application failed to start" not in result.stderr  # Qt's words, replaced
    assert "photo-search --help" in result.stderr


# --- the window, started as a user would --------------------------------------------------


@pytest.mark.skipif(not LINUX, reason="shared libraries and LD_LIBRARY_PATH: Linux only")
def test_a_library_the_xcb_plugin_cannot_load_is_named_with_its_packages(tmp_path):
    broken = tmp_path / "broken-libs"
    broken.mkdir()
    (broken / "libxcb-cursor.so.0").write_bytes(b"")  # glibc: "file too short"
    library_path = os.pathsep.join(filter(None, [str(broken), os.environ.get("LD_LIBRARY_PATH")]))
    result = start_the_window(
        tmp_path, QT_QPA_PLATFORM="xcb", DISPLAY=":0", LD_LIBRARY_PATH=library_path
    )
    assert_ended_by_the_app(result, tmp_path)
    message = result.stderr
    assert 'Qt\'s "xcb" platform plugin could not be loaded' in message
    assert "libxcb-cursor.so.0" in message and "file too short" in message
    assert "sudo apt install libxcb-cursor0" in message
    assert "sudo dnf install xcb-util-cursor" in message


@pytest.mark.skipif(not LINUX, reason="DISPLAY and the xcb plugin: Linux only")
def test_without_a_display_the_app_says_so_rather_than_blame_a_library(tmp_path):
    if (plugin := plugins_folder() / "libqxcb.so").is_file() and shutil.which("ldd"):
        missing = parse_ldd(
            subprocess.run(["ldd", str(plugin)], capture_output=True).stdout.decode()
        )
        if missing:
            pytest.skip(f"this machine cannot load the xcb plugin at all: it lacks {missing}")
    result = start_the_window(tmp_path, QT_QPA_PLATFORM="xcb")
    assert_ended_by_the_app(result, tmp_path)
    message = result.stderr
    assert "there is no display to open it on" in message
    assert "DISPLAY" in message and "desktop session" in message
    assert "libxcb-cursor0" not in message  # Qt's own hint says so whatever the cause


def test_a_platform_qt_does_not_have_is_named_with_those_it_has(tmp_path):
    result = start_the_window(tmp_path, QT_QPA_PLATFORM="nosuchplatform")
    assert_ended_by_the_app(result, tmp_path)
    message = result.stderr
    assert 'Qt has no platform plugin named "nosuchplatform"' in message
    assert "The platform plugins it has: " in message and "offscreen" in message
    assert "Unset QT_QPA_PLATFORM" in message


def test_qt_lines_are_printed_as_before_when_a_platform_starts():
    code = """
import sys
from PySide6.QtWidgets import QApplication
from desktop.ui.qt_platform import platform_guard
with platform_guard():
    app = QApplication(sys.argv[:1])
    print("made", file=sys.stderr)
print(app.platformName(), file=sys.stderr)
"""
    env = {k: v for k, v in os.environ.items() if k not in DISPLAY_VARIABLES}
    env.update(PYTHONPATH=str(REPO_ROOT), QT_QPA_PLATFORM="nosuchplatform;offscreen")
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "made",  # held back until the platform is up, then printed as Qt prints it:
        'qt.qpa.plugin: Could not find the Qt platform plugin "nosuchplatform" in ""',
        "offscreen",
    ]


# --- reading ldd, dlopen and Qt -----------------------------------------------------------


def test_ldd_not_found_lines_are_the_missing_libraries():
    """Real: the wayland plugin's ldd, where Qt6WaylandClient needs libwayland-cursor too."""
    output = captured("ldd-libqwayland-without-libwayland-cursor.txt")
    assert output.count("libwayland-cursor.so.0 => not found") == 2
    assert parse_ldd(output) == [MissingLibrary("libwayland-cursor.so.0")]


def test_ldd_loader_error_names_the_broken_library_and_why():
    output = captured("ldd-libqxcb-with-an-empty-libxcb-cursor.txt")
    [library] = parse_ldd(output)
    assert library.soname == "libxcb-cursor.so.0"
    assert library.reason.endswith("libxcb-cursor.so.0: file too short")


def test_ldd_of_a_plugin_that_loads_names_nothing():
    output = captured("ldd-libqwayland-without-libwayland-cursor.txt")
    fine = output.replace("libwayland-cursor.so.0 => not found", "")
    assert parse_ldd(fine) == []


def test_musl_ldd_errors_name_the_library():
    output = (
        "Error loading shared library libxcb-cursor.so.0: No such file or directory "
        "(needed by /app/PySide6/Qt/plugins/platforms/libqxcb.so)\n"
    )
    assert parse_ldd(output) == [MissingLibrary("libxcb-cursor.so.0")]


def test_a_dlopen_error_names_the_library_unless_it_is_the_plugins_own():
    plugin = Path("/x/platforms/libqwayland.so")
    real = "libwayland-cursor.so.0: cannot open shared object file: No such file or directory"
    assert parse_load_error(real, plugin) == [MissingLibrary("libwayland-cursor.so.0")]
    broken = parse_load_error("/tmp/lib/libxcb-cursor.so.0: file too short", plugin)
    assert broken == [
        MissingLibrary("libxcb-cursor.so.0", "/tmp/lib/libxcb-cursor.so.0: file too short")
    ]
    assert (
        parse_load_error("/x/platforms/libqwayland.so: wrong ELF class: ELFCLASS32", plugin) == []
    )
    assert parse_load_error("/x/lib/libQt6Gui.so.6: undefined symbol: f", plugin) == []


def test_diagnose_reads_which_plugin_qt_tried_and_the_plugins_it_has(tmp_path):
    (tmp_path / "libqwayland.so").write_bytes(b"")
    ldd = captured("ldd-libqwayland-without-libwayland-cursor.txt")
    qt = captured("qt-wayland-without-libwayland-cursor.txt").splitlines()
    failure = diagnose(qt, {}, [tmp_path], libraries=lambda plugin: (parse_ldd(ldd), ""))
    [attempt] = failure.attempts
    assert attempt == Attempt(
        "wayland", True, tmp_path / "libqwayland.so", (MissingLibrary("libwayland-cursor.so.0"),)
    )
    assert failure.available[:3] == ("minimal", "linuxfb", "offscreen")
    assert failure.available[-1] == "minimalegl"
    assert explain(failure).splitlines() == [
        "photo-search: the window cannot open: "
        'Qt\'s "wayland" platform plugin could not be loaded.',
        "It needs system libraries that are missing: libwayland-cursor.so.0",
        "Install them, then start photo-search again:",
        "  Debian/Ubuntu: sudo apt install libwayland-cursor0",
        "  Fedora:        sudo dnf install libwayland-cursor",
        "The commands work without a window: photo-search --help",
    ]


def test_an_x_display_that_does_not_answer_is_named():
    qt = ["qt.qpa.xcb: could not connect to display :5", *QT_GAVE_UP_ON_XCB]
    failure = Failure((Attempt("xcb", True, Path("libqxcb.so")),), tuple(qt), (), {"DISPLAY": ":5"})
    message = explain(failure)
    assert 'Qt could not connect to the X display ":5" (DISPLAY)' in message
    assert "libxcb-cursor0" not in message


def test_x11_asked_for_in_a_wayland_session_without_x_says_so():
    env = {"WAYLAND_DISPLAY": "wayland-0", "QT_QPA_PLATFORM": "xcb"}
    failure = Failure(
        (Attempt("xcb", True, Path("libqxcb.so")),), tuple(QT_GAVE_UP_ON_XCB), (), env
    )
    assert "Unset QT_QPA_PLATFORM, or set it to wayland." in explain(failure)


def test_any_other_failure_repeats_what_qt_said():
    qt = ['qt.qpa.plugin: Could not load the Qt platform plugin "wayland" in ""']
    env = {"WAYLAND_DISPLAY": "wayland-0", "QT_QPA_PLATFORM": "wayland"}
    failure = Failure((Attempt("wayland", True, Path("libqwayland.so")),), tuple(qt), (), env)
    lines = explain(failure).splitlines()
    assert lines[0].endswith("Qt could not start any of its platform plugins. Qt said:")
    assert lines[1] == "  " + qt[0]
    assert lines[-2:] == [
        "QT_DEBUG_PLUGINS=1 photo-search shows more of what Qt tried.",
        "The commands work without a window: photo-search --help",
    ]


def test_qt_tries_wayland_first_in_a_wayland_session_and_what_qt_qpa_platform_says():
    assert requested_platforms({}) == ["xcb"]
    assert requested_platforms({"WAYLAND_DISPLAY": "wayland-0"}) == ["wayland", "xcb"]
    assert requested_platforms({"XDG_SESSION_TYPE": "wayland"}) == ["wayland", "xcb"]
    assert requested_platforms({"QT_QPA_PLATFORM": "wayland;xcb:dpi=96"}) == ["wayland", "xcb"]


# --- packages -----------------------------------------------------------------------------


def test_each_library_maps_to_its_debian_and_fedora_packages():
    missing = [
        MissingLibrary(soname)
        for soname in (
            "libxcb-cursor.so.0",
            "libxkbcommon-x11.so.0",
            "libxcb-icccm.so.4",
            "libxcb-image.so.0",
            "libxcb-keysyms.so.1",
            "libxcb-render-util.so.0",
            "libxcb-util.so.1",
            "libEGL.so.1",
            "libGL.so.1",
            "libfontconfig.so.1",
            "libdbus-1.so.3",
            "libX11-xcb.so.1",
            "libxcb-randr.so.0",
            "libxcb-shape.so.0",
            "libxcb.so.1",
        )
    ]
    debian, fedora, unknown = packages_for(missing)
    assert debian == [
        "libxcb-cursor0",
        "libxkbcommon-x11-0",
        "libxcb-icccm4",
        "libxcb-image0",
        "libxcb-keysyms1",
        "libxcb-render-util0",
        "libxcb-util1",
        "libegl1",
        "libgl1",
        "libfontconfig1",
        "libdbus-1-3",
        "libx11-xcb1",
        "libxcb-randr0",
        "libxcb-shape0",
        "libxcb1",
    ]
    assert fedora == [  # the plain libxcb-* libraries are all in Fedora's libxcb
        "xcb-util-cursor",
        "libxkbcommon-x11",
        "xcb-util-wm",
        "xcb-util-image",
        "xcb-util-keysyms",
        "xcb-util-renderutil",
        "xcb-util",
        "libglvnd-egl",
        "libglvnd-glx",
        "fontconfig",
        "dbus-libs",
        "libX11-xcb",
        "libxcb",
    ]
    assert unknown == []


def test_a_library_the_table_does_not_know_is_named_with_how_to_find_its_package():
    attempt = Attempt("xcb", True, Path("libqxcb.so"), (MissingLibrary("libfoo.so.7"),))
    message = explain(Failure((attempt,)))
    assert "It needs system libraries that are missing: libfoo.so.7" in message
    assert "apt-file search libfoo.so.7" in message and "dnf provides '*/libfoo.so.7'" in message
    assert "sudo apt install" not in message


@pytest.mark.skipif(not LINUX or not shutil.which("ldd"), reason="needs Linux and ldd")
def test_the_table_covers_every_library_the_xcb_plugin_and_qt_gui_load():
    libraries = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.LibrariesPath))
    needed = set()
    for binary in (plugins_folder() / "libqxcb.so", libraries / "libQt6Gui.so.6"):
        if not binary.is_file():
            pytest.skip(f"{binary} is not where QLibraryInfo says")
        output = subprocess.run(["ldd", str(binary)], capture_output=True, text=True).stdout
        needed |= {line.split()[0] for line in output.splitlines() if "=>" in line}
    system = {
        name for name in needed if not GLIBC.match(name) and not name.startswith(BUNDLED_PREFIXES)
    }
    assert len(system) > 30
    assert system - set(PACKAGES) == set()


def test_the_readme_installs_what_the_window_needs():
    readme = (REPO_ROOT / "README.md").read_text().replace("\\\n", " ")
    debian, fedora, _ = packages_for(MissingLibrary(soname) for soname in WINDOW_LIBRARIES)
    for command, packages in (("sudo apt install", debian), ("sudo dnf install", fedora)):
        [line] = [line for line in readme.splitlines() if line.startswith(command)]
        assert line.split()[3:] == packages
