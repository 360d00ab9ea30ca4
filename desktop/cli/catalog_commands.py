"""`photo-search models available` and `models get NAME`: the pretrained models of the catalog.

`get` runs `model_provisioning.get_catalog_model`, the operation the window runs too, with a
progress bar on stderr. Ctrl+C stops a download; what arrived is kept and the same command
resumes it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from desktop.cli.progress import ProgressPrinter, format_download
from desktop.core.library import Library
from desktop.core.model_catalog import ModelCatalogError, load_catalog
from desktop.core.model_download import ModelDownloadError, cached_weights
from desktop.core.model_provisioning import (
    ModelProvisioningError,
    catalog_models_in_library,
    catalog_summary,
    get_catalog_model,
)

Run = Callable[[argparse.Namespace, Callable[[Library], object], Callable], int]
ERRORS = (ModelCatalogError, ModelDownloadError, ModelProvisioningError)


def register(
    model_commands: argparse._SubParsersAction, common: argparse.ArgumentParser, run: Run
) -> None:
    """Add the catalog subcommands; `run` opens the library and reports as every command does."""
    available = model_commands.add_parser(
        "available", parents=[common], help="pretrained models that can be downloaded"
    )
    available.set_defaults(func=lambda args: _guarded(cmd_models_available, args, run))
    get = model_commands.add_parser(
        "get", parents=[common], help="download a pretrained model and add it"
    )
    get.add_argument("name", help="a catalog key from `models available`")
    get.add_argument("--int8", action="store_true", help="add its int8 variant instead")
    get.add_argument("--activate", action="store_true", help="index and search with it")
    get.set_defaults(func=lambda args: _guarded(cmd_models_get, args, run))


def _guarded(command: Callable[[argparse.Namespace, Run], int], args, run: Run) -> int:
    """Report a catalog, download or build error like any user error: a message, status 2."""
    try:
        return command(args, run)
    except ERRORS as exc:
        print(f"photo-search: {exc}", file=sys.stderr)
        return 2


def cmd_models_available(args: argparse.Namespace, run: Run) -> int:
    catalog = load_catalog()

    def work(library: Library) -> list[dict]:
        in_library = catalog_models_in_library(library, catalog)
        return [
            {
                **catalog_summary(model),
                "downloaded": cached_weights(model) is not None,
                "in_library": [record.id for record in in_library[model.key]],
            }
            for model in catalog.models
        ]

    def show(models: list[dict]) -> None:
        for m in models:
            state = (
                f"in the library (model {', '.join(map(str, m['in_library']))})"
                if m["in_library"]
                else "downloaded"
                if m["downloaded"]
                else "not downloaded"
            )
            print(f"{m['key']}{'  (default)' if m['default'] else ''}")
            print(f"    {m['name']}, {m['download_bytes'] / 1e6:.0f} MB, {m['licence']}, {state}")
            print(f"    {m['good_for']}")

    return run(args, work, show)


def cmd_models_get(args: argparse.Namespace, run: Run) -> int:
    def work(library: Library) -> dict:
        printer = ProgressPrinter(sys.stderr, formatter=format_download)
        try:
            model = get_catalog_model(
                library, args.name, progress=printer.update, int8=args.int8, activate=args.activate
            )
        finally:
            printer.finish()
        return {"id": model.id, "name": model.name, "content_hash": model.content_hash}

    try:
        return run(args, work, lambda m: print(f"added model {m['id']}: {m['name']}"))
    except KeyboardInterrupt:
        print("\ninterrupted: run the same command again to resume the download", file=sys.stderr)
        return 130
