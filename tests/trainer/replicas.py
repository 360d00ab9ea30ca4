"""Tiny replicas of each benchmark's official layout, written by the tests themselves."""

from __future__ import annotations

import pickle

from .conftest import write_photo


def write_cub(root, classes=(1, 2, 101, 102), per_class=2):
    base = root / "CUB_200_2011"
    rows, labels, image_id = [], [], 0
    for c in classes:
        for k in range(per_class):
            image_id += 1
            relative = f"{c:03d}.Bird_{c}/Bird_{c}_{k}.jpg"
            write_photo(base / "images" / relative, seed=image_id)
            rows.append(f"{image_id} {relative}")
            labels.append(f"{image_id} {c}")
    (base / "images.txt").write_text("\n".join(rows) + "\n")
    (base / "image_class_labels.txt").write_text("\n".join(labels) + "\n")
    return root


def write_sop(root):
    base = root / "Stanford_Online_Products"
    for split, classes in (("train", (1, 2)), ("test", (11319, 11320, 11321))):
        lines = ["image_id class_id super_class_id path"]
        for c in classes:
            for k in range(2):
                relative = f"bicycle_final/{c}_{k}.JPG"
                write_photo(base / relative, seed=c + k)
                lines.append(f"{len(lines)} {c} 1 {relative}")
        (base / f"Ebay_{split}.txt").write_text("\n".join(lines) + "\n")
    return root


def write_inshop(root):
    rows = [
        ("img/MEN/Denim/id_00000001/01_1_front.jpg", "id_00000001", "train"),
        ("img/MEN/Denim/id_00000001/01_2_side.jpg", "id_00000001", "train"),
        ("img/WOMEN/Dresses/id_00000007/01_1_front.jpg", "id_00000007", "query"),
        ("img/WOMEN/Dresses/id_00000007/01_2_side.jpg", "id_00000007", "gallery"),
        ("img/WOMEN/Dresses/id_00000003/01_1_front.jpg", "id_00000003", "gallery"),
        ("img/WOMEN/Dresses/id_00000003/01_4_full.jpg", "id_00000003", "query"),
    ]
    for i, (name, _, _) in enumerate(rows):
        write_photo(root / "Img" / name, seed=i)
    lines = [str(len(rows)), "image_name item_id evaluation_status"]
    lines += [f"{name}  {item}  {status}" for name, item, status in rows]
    (root / "Eval").mkdir(parents=True)
    (root / "Eval" / "list_eval_partition.txt").write_text("\n".join(lines) + "\n")
    return root


def write_revisited(root, name="roxford5k"):
    base = root / name
    database = [f"all_souls_{i:06d}" for i in range(5)]
    queries = ["all_souls_000013", "radcliffe_camera_000519"]
    for i, image in enumerate(database + queries):
        write_photo(base / "jpg" / f"{image}.jpg", size=(60, 40), seed=i)
    gnd = [
        {"bbx": [10.0, 5.0, 50.0, 35.0], "easy": [0, 2], "hard": [1], "junk": [4]},
        {"bbx": [0, 0, 30, 30], "easy": [], "hard": [3], "junk": []},
    ]
    with open(base / f"gnd_{name}.pkl", "wb") as stream:
        pickle.dump({"imlist": database, "qimlist": queries, "gnd": gnd}, stream)
    return root
