"""`photo-search labels ...`: the user's labels, as the window's label view manages them.

Every command runs the Library operation the window runs; `labels manifest` writes the
training set that `desktop-trainer finetune --labels FILE` reads, and says what it left out.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from desktop.core.catalog import Label
from desktop.core.library import Library

Run = Callable[..., int]


def register(
    subcommands: argparse._SubParsersAction, common: argparse.ArgumentParser, run: Run
) -> None:
    labels = subcommands.add_parser("labels", help="name photos: labels to find and train on")
    commands = labels.add_subparsers(dest="labels_command", required=True)

    def command(name: str, help_text: str, handler, *arguments: tuple[str, dict]) -> None:
        parser = commands.add_parser(name, parents=[common], help=help_text)
        for flag, options in arguments:
            parser.add_argument(flag, **options)
        parser.set_defaults(func=lambda args: handler(args, run))

    photos = ("photos", {"nargs": "+", "type": Path, "help": "photos in the library"})
    command("list", "labels and their photo counts", cmd_list)
    command("create", "a new label", cmd_create, ("name", {}))
    command("rename", "rename a label", cmd_rename, ("name", {}), ("new_name", {}))
    command("delete", "forget a label (its photos stay)", cmd_delete, ("name", {}))
    command("add", "give photos a label", cmd_add, ("name", {}), photos)
    command("remove", "take a label off photos", cmd_remove, ("name", {}), photos)
    command("show", "a label's photos", cmd_show, ("name", {}))
    command(
        "import",
        "label the library's photos of a folder tree (one sub-folder per label)",
        cmd_import,
        ("folder", {"type": Path}),
    )
    command(
        "manifest",
        "write the training set of the labels for `desktop-trainer finetune --labels`",
        cmd_manifest,
        ("file", {"type": Path}),
        ("--label", {"action": "append", "dest": "chosen", "help": "only these (repeatable)"}),
    )


def _label_json(label: Label) -> dict[str, Any]:
    return {"id": label.id, "name": label.name, "photos": label.count}


def cmd_list(args: argparse.Namespace, run: Run) -> int:
    def show(labels: list[dict]) -> None:
        if not labels:
            print("no labels: create one with `photo-search labels create NAME`")
        for label in labels:
            print(f"{label['photos']:>6}  {label['name']}")

    return run(args, lambda library: [_label_json(x) for x in library.labels()], show)


def cmd_create(args: argparse.Namespace, run: Run) -> int:
    def work(library: Library) -> dict:
        return _label_json(library.create_label(args.name))

    return run(args, work, lambda label: print(f"created label {label['name']!r}"))


def cmd_rename(args: argparse.Namespace, run: Run) -> int:
    def work(library: Library) -> dict:
        library.rename_label(args.name, args.new_name)
        return _label_json(library.label(args.new_name))

    return run(args, work, lambda label: print(f"renamed to {label['name']!r}"))


def cmd_delete(args: argparse.Namespace, run: Run) -> int:
    def work(library: Library) -> dict:
        label = library.label(args.name)
        library.delete_label(label)
        return _label_json(label)

    return run(args, work, lambda label: print(f"deleted label {label['name']!r}; photos kept"))


def cmd_add(args: argparse.Namespace, run: Run) -> int:
    def work(library: Library) -> dict:
        added = library.add_to_label(args.name, args.photos)
        return {**_label_json(library.label(args.name)), "added": added}

    def show(result: dict) -> None:
        print(f"{result['added']} photo(s) labelled {result['name']!r} ({result['photos']} in all)")

    return run(args, work, show)


def cmd_remove(args: argparse.Namespace, run: Run) -> int:
    def work(library: Library) -> dict:
        library.remove_from_label(args.name, args.photos)
        return _label_json(library.label(args.name))

    return run(args, work, lambda r: print(f"{r['photos']} photo(s) left in {r['name']!r}"))


def cmd_show(args: argparse.Namespace, run: Run) -> int:
    def work(library: Library) -> list[str]:
        return [photo.path for photo in library.label_photos(args.name)]

    return run(args, work, lambda paths: print("\n".join(paths) or "no photos"))


def cmd_import(args: argparse.Namespace, run: Run) -> int:
    def work(library: Library) -> dict:
        report = library.import_labelled_folder(args.folder)
        return {"added": report.added, "not_in_library": report.not_in_library}

    def show(result: dict) -> None:
        for name, added in result["added"].items():
            print(f"{added:>6}  {name}")
        if result["not_in_library"]:
            print(
                f"{result['not_in_library']} photo(s) are not in the library yet: "
                f"`photo-search index {args.folder}`, then import again"
            )

    return run(args, work, show)


def cmd_manifest(args: argparse.Namespace, run: Run) -> int:
    def work(library: Library) -> dict:
        chosen = library.training_set(args.chosen)
        chosen.write_manifest(args.file)
        return {
            "file": str(args.file),
            "labels": chosen.counts(),
            "too_few": chosen.too_few,
            "ambiguous": chosen.ambiguous,
        }

    def show(result: dict) -> None:
        counts = result["labels"]
        print(f"wrote {result['file']}: {sum(counts.values())} photos of {len(counts)} labels")
        for name, count in result["too_few"].items():
            print(f"  left out {name!r}: {count} photo(s) are too few to train on")
        for path in result["ambiguous"]:
            print(f"  left out {path}: it has several of these labels")
        print(f"train: desktop-trainer finetune --labels {result['file']} --out RUN_DIR")

    return run(args, work, show)
