"""Headless subcommands of `photo-search`: models, index, search, similar, duplicates, status,
labels.

Each command opens the library (`--library DIR`, else `$PHOTO_SEARCH_HOME`, else the user's
folders), does one thing through `desktop.core.library.Library`, and prints either a
human-readable summary or, with `--json`, one JSON document on stdout. Errors go to stderr
with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from desktop import text
from desktop.cli import catalog_commands, label_commands
from desktop.cli.progress import ProgressPrinter
from desktop.core.catalog import CatalogError, Photo
from desktop.core.descriptor_model import (
    AUTO,
    PROVIDERS,
    ModelError,
    ProviderError,
    check_model_file,
)
from desktop.core.duplicates import DuplicateThreshold, choose_keep
from desktop.core.images import ImageLoadError
from desktop.core.indexer import SyncReport
from desktop.core.library import Library, LibraryError
from desktop.core.paths import app_paths
from desktop.core.queries import Query, QueryOutcome
from desktop.core.search import SearchFilter
from desktop.core.status import LibraryStatus, ModelState, model_json
from desktop.core.trash import TrashReport


def register(subcommands: argparse._SubParsersAction) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--library", help="keep the catalog, cache and settings under DIR")
    common.add_argument("--json", action="store_true", help="print JSON")
    add_provider_option(common)

    models = subcommands.add_parser("models", help="list, add or activate descriptor models")
    model_commands = models.add_subparsers(dest="models_command", required=True)
    add = model_commands.add_parser("add", parents=[common], help="add an ONNX model")
    add.add_argument("file", type=Path)
    add.add_argument("--activate", action="store_true", help="index and search with it")
    add.set_defaults(func=cmd_models_add)
    listing = model_commands.add_parser("list", parents=[common], help="list models")
    listing.set_defaults(func=cmd_models_list)
    activate = model_commands.add_parser("activate", parents=[common], help="switch model")
    activate.add_argument("model_id", type=int)
    activate.set_defaults(func=cmd_models_activate)
    catalog_commands.register(model_commands, common, _run)

    index = subcommands.add_parser(
        "index", parents=[common], help="add folders, then index new and changed photos"
    )
    index.add_argument("folders", nargs="*", type=Path)
    index.add_argument("--model", type=Path, help="add this ONNX model and make it active")
    index.add_argument("--batch-size", type=int, default=32)
    index.set_defaults(func=cmd_index)

    search = subcommands.add_parser(
        "search", parents=[common, _filter_options()], help="find photos like these images"
    )
    search.add_argument("images", nargs="+", type=Path, help="one or more query images")
    search.set_defaults(func=cmd_search)

    similar = subcommands.add_parser(
        "similar", parents=[common, _filter_options()], help="find photos like library photos"
    )
    similar.add_argument("photos", nargs="+", type=Path, help="photos already in the library")
    similar.set_defaults(func=cmd_similar)

    duplicates = subcommands.add_parser(
        "duplicates", parents=[common], help="groups of near-identical photos"
    )
    duplicates.add_argument(
        "--threshold",
        type=float,
        help="descriptor similarity that alone makes a duplicate (default: the model's own, "
        "or estimated from the library)",
    )
    duplicates.add_argument(
        "--trash-extras",
        action="store_true",
        help="move every group's other copies to the system trash, keeping the best one "
        "(most pixels, then largest file, then oldest); exit status 1 if one could not go",
    )
    duplicates.add_argument(
        "--dry-run", action="store_true", help="with --trash-extras: say what would move, move none"
    )
    duplicates.set_defaults(func=cmd_duplicates)

    status = subcommands.add_parser("status", parents=[common], help="what the library holds")
    status.set_defaults(func=cmd_status)

    folders = subcommands.add_parser("remove-folder", parents=[common], help="forget a folder")
    folders.add_argument("folder", type=Path)
    folders.set_defaults(func=cmd_remove_folder)

    check = subcommands.add_parser(
        "check-model", parents=[common], help="check that an ONNX file follows the model contract"
    )
    check.add_argument("model", type=Path)
    check.set_defaults(func=cmd_check_model)
    label_commands.register(subcommands, common, _run)


def add_provider_option(parser: argparse.ArgumentParser) -> None:
    """`--provider NAME`: where the model runs; the GUI takes the same option."""
    parser.add_argument(
        "--provider",
        type=str.lower,
        choices=[AUTO, *PROVIDERS],
        help="run the model on this onnxruntime execution provider (default: the best offered)",
    )


def _filter_options() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--top-k", type=int, default=20)
    options.add_argument("--min-score", type=float, default=-1.0)
    options.add_argument("--folder", type=Path, help="only photos under this folder")
    options.add_argument("--from", dest="date_from", help="taken on or after (YYYY-MM-DD)")
    options.add_argument("--to", dest="date_to", help="taken on or before (YYYY-MM-DD)")
    options.add_argument(
        "--good", nargs="+", type=Path, default=[], help="library photos that are what you mean"
    )
    options.add_argument(
        "--bad", nargs="+", type=Path, default=[], help="library photos that are not"
    )
    return options


def _marked(query: Query, library: Library, args: argparse.Namespace) -> Query:
    """The query refined by the photos marked good and bad, as the window marks them."""
    good = [library.photo(p).id for p in args.good]
    bad = [library.photo(p).id for p in args.bad]
    return query.with_marks(good, bad)


def _filters(args: argparse.Namespace) -> SearchFilter:
    folder = str(args.folder.expanduser().resolve()) if args.folder else None
    return SearchFilter(args.min_score, folder, args.date_from, args.date_to)


def _run(
    args: argparse.Namespace,
    work: Callable[[Library], Any],
    show: Callable,
    *,
    to_json: Callable[[Any], Any] = lambda result: result,
) -> int:
    """Open the library, do the work, print the result; user errors exit with status 2.

    `show` prints the result for people; `to_json` turns it into the `--json` document."""
    try:
        with Library(app_paths(args.library), provider=args.provider) as library:
            result = work(library)
    except (LibraryError, ModelError, ProviderError, ImageLoadError, CatalogError) as exc:
        print(f"photo-search: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(to_json(result), indent=2))
    else:
        show(result)
    return 0


def _results_json(outcome: QueryOutcome) -> list[dict]:
    return [{"path": r.photo.path, "score": round(r.score, 6)} for r in outcome.results]


def _show_results(results: list[dict]) -> None:
    if not results:
        print("no matching photos")
    for result in results:
        print(f"{result['score']:.4f}  {result['path']}")


def cmd_models_add(args: argparse.Namespace) -> int:
    def work(library: Library) -> dict:
        model = library.add_model(args.file, activate=args.activate)
        return {"id": model.id, "name": model.name, "content_hash": model.content_hash}

    return _run(args, work, lambda m: print(f"added model {m['id']}: {m['name']}"))


def _model_line(state: ModelState) -> str:
    roles = text.model_roles(state)
    return (
        f"{state.record.name}  {state.record.dim}-d  {state.indexed} indexed, "
        f"{state.pending} pending" + (f"  ({roles})" if roles else "")
    )


def cmd_models_list(args: argparse.Namespace) -> int:
    def show(models: list[ModelState]) -> None:
        if not models:
            print("no models: add one with `photo-search models add FILE.onnx`")
        for state in models:
            print(f"{state.record.id:>3}  {_model_line(state)}")

    return _run(args, lambda library: library.model_states(), show, to_json=_models_json)


def _models_json(models: list[ModelState]) -> list[dict]:
    return [model_json(state) for state in models]


def cmd_models_activate(args: argparse.Namespace) -> int:
    def work(library: Library) -> dict:
        library.activate_model(args.model_id)
        return {"active": args.model_id}

    return _run(args, work, lambda r: print(f"model {r['active']} is active; run `index`"))


def cmd_index(args: argparse.Namespace) -> int:
    def work(library: Library) -> SyncReport:
        if args.model:
            library.add_model(args.model, activate=True)
        for folder in args.folders:
            library.add_folder(folder)
        if not library.folders():
            raise LibraryError("no folders yet: `photo-search index FOLDER`")
        printer = ProgressPrinter(sys.stderr)
        try:
            return library.sync(printer.update, batch_size=args.batch_size)
        finally:
            printer.finish()

    def show(report: SyncReport) -> None:
        print(text.sync_summary(report))
        for path, reason in report.skipped:
            print(f"  skipped {path}: {reason}")
        for folder in report.offline_folders:
            print(f"  offline (photos kept): {folder}")
        for path, reason in report.folder_problems:
            print(f"  unreadable: {path}: {reason}")

    try:
        return _run(args, work, show, to_json=_sync_json)
    except KeyboardInterrupt:
        print(
            "\ninterrupted: finished batches are saved; run `index` again to resume",
            file=sys.stderr,
        )
        return 130


def _sync_json(report: SyncReport) -> dict:
    return {
        "added": report.added,
        "changed": report.changed,
        "moved": report.moved,
        "deleted": report.deleted,
        "embedded": report.embedded,
        "skipped": [{"path": p, "reason": r} for p, r in report.skipped],
        "offline_folders": report.offline_folders,
        "folder_problems": [{"path": p, "reason": r} for p, r in report.folder_problems],
        "seconds": round(report.seconds, 2),
    }


def cmd_search(args: argparse.Namespace) -> int:
    def work(library: Library) -> list[dict]:
        query = _marked(Query(images=args.images), library, args)
        return _results_json(library.run_query(query, top=args.top_k, filters=_filters(args)))

    return _run(args, work, _show_results)


def cmd_similar(args: argparse.Namespace) -> int:
    def work(library: Library) -> list[dict]:
        query = _marked(Query(photos=args.photos), library, args)
        return _results_json(library.run_query(query, top=args.top_k, filters=_filters(args)))

    return _run(args, work, _show_results)


def _photo_json(photo: Photo) -> dict:
    return {"path": photo.path, "width": photo.width, "height": photo.height, "size": photo.size}


def _photo_line(photo: Photo) -> str:
    return f"{photo.width}x{photo.height}  {photo.size:>10}  {photo.path}"


def cmd_duplicates(args: argparse.Namespace) -> int:
    """Near-duplicate groups, best copy first; with --trash-extras, all but the best copy of
    each go to the system trash (--dry-run: only said)."""
    if args.dry_run and not args.trash_extras:
        print("photo-search: --dry-run goes with --trash-extras", file=sys.stderr)
        return 2
    if args.trash_extras:
        return _trash_extras(args)

    def work(library: Library) -> dict:
        found = library.find_duplicates(args.threshold)
        groups = [choose_keep(group) for group in found.groups]
        return {
            "threshold": _levels_json(found.threshold),
            "groups": [[_photo_json(p) for p in (keep, *extras)] for keep, extras in groups],
        }

    def show(found: dict) -> None:
        print(found["threshold"]["rule"])
        if not found["groups"]:
            print("no near-duplicates")
        for number, group in enumerate(found["groups"], 1):
            print(f"group {number}:")
            for photo in group:
                print(f"  {photo['width']}x{photo['height']}  {photo['size']:>10}  {photo['path']}")

    return _run(args, work, show)


def _levels_json(levels: DuplicateThreshold) -> dict:
    return {
        "similarity": round(levels.sure, 6),
        "confirm_similarity": round(levels.confirm, 6),
        "source": levels.source,
        "rule": text.duplicate_rule(levels),
    }


Done = list[tuple[Photo, list[Photo], "TrashReport | None"]]
"""Each group's copy kept, its other copies, and what trashing them did (None: a dry run)."""


def _trash_extras(args: argparse.Namespace) -> int:
    """Keep each group's best copy and move the others to the trash; exit status 1 when
    some could not be moved (they stay, in the library too)."""
    results: list[Done] = []
    levels: list[DuplicateThreshold] = []

    def work(library: Library) -> Done:
        found = library.find_duplicates(args.threshold)
        levels.append(found.threshold)
        groups = [choose_keep(group) for group in found.groups]
        done = [
            (keep, extras, None if args.dry_run else library.trash_photos(extras))
            for keep, extras in groups
        ]
        results.append(done)
        return done

    def show(done: Done) -> None:
        print(text.duplicate_rule(levels[0]))
        if not done:
            print("no near-duplicates")
        for number, (keep, extras, report) in enumerate(done, 1):
            print(f"group {number}:")
            print(f"  keep          {_photo_line(keep)}")
            if report is None:
                for photo in extras:
                    print(f"  would trash   {_photo_line(photo)}")
                continue
            for photo in report.trashed:
                print(f"  trashed       {_photo_line(photo)}")
            for photo in report.already_gone:
                print(f"  already gone  {photo.path}")
            for failure in report.failed:
                print(f"  NOT MOVED     {failure.photo.path}: {failure.reason}")
        if args.dry_run:
            extras = sum(len(extras) for _, extras, _ in done)
            print(f"dry run: {text.photos(extras)} would go to the trash; nothing was moved")
        elif done:
            print(text.trash_summary(TrashReport.joined(r for *_, r in done)))

    def to_json(done: Done) -> dict:
        groups = []
        for keep, extras, report in done:
            group: dict[str, Any] = {"kept": _photo_json(keep)}
            if report is None:
                group["to_trash"] = [_photo_json(p) for p in extras]
            else:
                group["trashed"] = [_photo_json(p) for p in report.trashed]
                group["already_gone"] = [_photo_json(p) for p in report.already_gone]
                group["failed"] = [
                    {**_photo_json(f.photo), "reason": f.reason} for f in report.failed
                ]
            groups.append(group)
        return {"dry_run": args.dry_run, "threshold": _levels_json(levels[0]), "groups": groups}

    status = _run(args, work, show, to_json=to_json)
    failed = any(r is not None and r.failed for done in results for *_, r in done)
    return 1 if status == 0 and failed else status


def cmd_status(args: argparse.Namespace) -> int:
    def show(status: LibraryStatus) -> None:
        read_only = " (read-only: it can be searched, not changed)" if status.read_only else ""
        print(f"catalog: {status.catalog}{read_only}")
        print(f"photos: {status.photos}")
        print(f"skipped files (not readable as photos): {len(status.skipped)}")
        for folder in status.folders:
            state = "online" if folder.online else "OFFLINE (photos kept)"
            print(f"folder: {folder.path} [{state}]")
        for state in status.models:
            print(f"model {state.record.id}: {_model_line(state)}")
            if state.provider:
                print(f"  runs on: {text.provider_label(state.provider)}")
        for item in status.skipped:
            print(f"skipped: {item.path}: {item.reason}")

    def work(library: Library) -> LibraryStatus:
        serving = library.serving_model()
        if serving is not None:  # loaded so that status names the provider it really got
            library.session(serving)
        return library.status()

    return _run(args, work, show, to_json=LibraryStatus.to_json)


def cmd_remove_folder(args: argparse.Namespace) -> int:
    def work(library: Library) -> dict:
        library.remove_folder(args.folder)
        return {"removed": str(args.folder)}

    return _run(args, work, lambda r: print(f"removed {r['removed']} (files untouched)"))


def cmd_check_model(args: argparse.Namespace) -> int:
    try:
        model = check_model_file(args.model, provider=args.provider)
    except (ModelError, ProviderError) as exc:
        print(f"photo-search: {exc}", file=sys.stderr)
        return 2
    info = model.info
    summary = {
        "path": str(info.path),
        "name": info.name,
        "architecture": info.architecture,
        "descriptor_dim": info.descriptor_dim,
        "input_size": info.input_spec.input_size,
        "resize_size": info.input_spec.resize_size,
        "interpolation": info.input_spec.interpolation,
        "content_hash": info.content_hash,
        "training": info.training,
        "provider": model.provider,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for key, value in summary.items():
            print(f"{key:>15}: {value}")
    return 0
