"""The `photo-search` command: the GUI by default, headless subcommands for scripts."""

from __future__ import annotations

import argparse
import io
import sys

from desktop import APP_NAME, __version__, self_test
from desktop.cli import commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=APP_NAME,
        description="Find photos by example. With no command, opens the app window.",
    )
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND")
    gui = subcommands.add_parser("gui", help="open the app window (the default)")
    gui.add_argument("--library", help="keep the catalog, cache and settings under DIR")
    gui.add_argument("--query", action="append", help="search with this image on start")
    gui.add_argument("--screenshot", help="save a screenshot once settled, then exit")
    gui.add_argument(
        "--debug", action="store_true", help="log to stderr, and log GUI stalls over 50 ms"
    )
    commands.add_provider_option(gui)
    gui.set_defaults(func=run_gui)
    commands.register(subcommands)
    self_test.register(subcommands)
    return parser


def run_gui(args: argparse.Namespace) -> int:
    from desktop.ui.app import run

    return run(args)


def write_names_as_bytes() -> None:
    """Print a file name that is not valid UTF-8 as its original bytes, as `ls` does.

    Python carries such a name as lone surrogates, which a strict UTF-8 stdout refuses
    with UnicodeEncodeError; `--json` output is ASCII and needs nothing.
    """
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="surrogateescape")


def main(argv: list[str] | None = None) -> int:
    write_names_as_bytes()
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.command is None:
        args = parser.parse_args(["gui"])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
