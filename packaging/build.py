"""`make package`: build the installable photo-search folder and its archive.

Renders the icons, runs PyInstaller on `photo-search.spec`, adds the desktop integration
(on Linux: the menu entry, icons, AppStream metadata and `install.sh`) and packs
`DIST/photo-search-<version>-<system>-<machine>` as `.tar.gz` (`.zip` on Windows). It
prints the sizes, what dominates them, and how long the build took.

    python packaging/build.py [--dist DIR] [--work DIR]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from icons import render_icons  # beside this script, which Python puts on sys.path

from desktop import __version__

HERE = Path(__file__).resolve().parent

APP_ID = "io.github.photo_search.PhotoSearch"
PYTHON_OWN_BINARIES = ("libpython*.so*", "python3*/lib-dynload/*.so")
"""Built with this Python, often with debug symbols (23 MB for libpython from source).
Only these are stripped: wheels' libraries are patched by auditwheel, and stripping them
breaks their loading ("ELF load command address/offset not page-aligned")."""


def bundle_name() -> str:
    system = {"win32": "windows", "darwin": "macos"}.get(sys.platform, sys.platform)
    return f"photo-search-{__version__}-{system}-{platform.machine().lower()}"


def run_pyinstaller(icons: Path, work: Path) -> Path:
    out = work / "pyinstaller"
    command = [
        sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
        "--distpath", str(out), "--workpath", str(work / "build"), str(HERE / "photo-search.spec"),
    ]  # fmt: skip
    subprocess.run(command, check=True, env={**os.environ, "PHOTO_SEARCH_ICONS": str(icons)})
    return out / "photo-search"


def strip_python_binaries(bundle: Path) -> None:
    strip = shutil.which("strip")
    if strip is None or not sys.platform.startswith("linux"):
        return
    for pattern in PYTHON_OWN_BINARIES:
        for binary in (bundle / "_internal").glob(pattern):
            subprocess.run([strip, "--strip-debug", str(binary)], check=True)


def add_linux_integration(bundle: Path, icons: Path) -> None:
    """The files `install.sh` puts under ~/.local/share, laid out as they will be there."""
    share = bundle / "share"
    linux = HERE / "linux"
    (share / "applications").mkdir(parents=True)
    shutil.copyfile(linux / f"{APP_ID}.desktop", share / "applications" / f"{APP_ID}.desktop")
    (share / "metainfo").mkdir()
    metainfo = (linux / f"{APP_ID}.metainfo.xml").read_text(encoding="utf-8")
    today = datetime.date.today().isoformat()
    metainfo = metainfo.replace("@VERSION@", __version__).replace("@DATE@", today)
    (share / "metainfo" / f"{APP_ID}.metainfo.xml").write_text(metainfo, encoding="utf-8")
    shutil.copytree(icons / "hicolor", share / "icons" / "hicolor")
    shutil.copy2(linux / "install.sh", bundle / "install.sh")


def archive(bundle: Path) -> Path:
    if sys.platform == "win32":
        return Path(shutil.make_archive(str(bundle), "zip", bundle.parent, bundle.name))
    path = bundle.with_name(bundle.name + ".tar.gz")
    with tarfile.open(path, "w:gz", compresslevel=6) as tar:
        tar.add(bundle, arcname=bundle.name)
    return path


def size_of(path: Path) -> int:
    """Bytes in files, not counting links (PyInstaller links some libraries to the top)."""
    if path.is_symlink():
        return 0
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def report(bundle: Path, packed: Path, seconds: float) -> None:
    mib = 1024 * 1024
    print(f"bundle:  {bundle}  {size_of(bundle) / mib:.0f} MiB unpacked")
    print(f"archive: {packed}  {packed.stat().st_size / mib:.0f} MiB")
    print(f"built in {seconds:.0f} s; the largest parts:")
    parts = (bundle / "_internal").iterdir()
    for part in sorted(parts, key=size_of, reverse=True)[:12]:
        print(f"  {size_of(part) / mib:6.1f} MiB  {part.name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=Path("dist"), help="where the result goes")
    parser.add_argument("--work", type=Path, default=Path("build/package"), help="scratch")
    args = parser.parse_args()
    started = time.monotonic()
    dist, work = args.dist.resolve(), args.work.resolve()
    shutil.rmtree(work, ignore_errors=True)
    icons = render_icons(work / "icons")
    built = run_pyinstaller(icons, work)
    bundle = dist / bundle_name()
    shutil.rmtree(bundle, ignore_errors=True)
    dist.mkdir(parents=True, exist_ok=True)
    shutil.move(built, bundle)
    strip_python_binaries(bundle)
    if sys.platform.startswith("linux"):
        add_linux_integration(bundle, icons)
    packed = archive(bundle)
    report(bundle, packed, time.monotonic() - started)
    print(f"run it: {bundle / 'photo-search'} (Linux: {bundle / 'install.sh'} installs it for you)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
