"""Write ``starlib/data/manifests/<name>.json`` from a mirror laid out like the data root, and docs/datasets.md.

    python tools/data_manifests.py /path/to/mirror [NAME ...]
    python tools/data_manifests.py --docs          (docs/datasets.md only)

Each data set's files are those its mirror folder's ``SHA256SUMS`` lists (checked here against the bytes); the
files the registry marks ``local`` (lists we made) keep their text in the manifest. Run it when a data set is
added or its pinned commit changes.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from starlib.data.registry import DATASETS, dataset, datasets_markdown
from starlib.util.paths import REPO_ROOT


def manifest(mirror: Path, name: str) -> dict:
    d = dataset(name)
    root = mirror / d.folder
    files = []
    for line in (root / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        digest, rel = line.split(maxsplit=1)
        rel = rel.strip().lstrip("*").removeprefix("./")
        data = (root / rel).read_bytes()
        if hashlib.sha256(data).hexdigest() != digest:
            raise SystemExit(f"{root / rel}: does not match its SHA256SUMS line")
        entry = {"path": rel, "size": len(data), "sha256": digest}
        if rel in d.local:
            entry["text"] = data.decode("utf-8")
        else:
            d.upstream_path(rel)                   # every other file maps to the upstream repository
        files.append(entry)
    missing = set(d.local) - {f["path"] for f in files}
    if missing:
        raise SystemExit(f"{name}: local file(s) {sorted(missing)} are not in {root / 'SHA256SUMS'}")
    return {"name": name, "files": sorted(files, key=lambda f: f["path"])}


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: " + __doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    if argv != ["--docs"]:
        write_manifests(Path(argv[0]), argv[1:] or list(DATASETS))
    (REPO_ROOT / "docs" / "datasets.md").write_text(datasets_markdown(), encoding="utf-8")
    print(f"{REPO_ROOT / 'docs' / 'datasets.md'} written")
    return 0


def write_manifests(mirror: Path, names: list[str]) -> None:
    for name in names:
        out = dataset(name).manifest_path
        m = manifest(mirror, name)
        rows = ",\n".join(json.dumps(f, ensure_ascii=False) for f in m["files"])   # one file a line
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(f'{{"name": {json.dumps(name)}, "files": [\n{rows}\n]}}\n', encoding="utf-8")
        print(f"{out}: {len(m['files'])} files")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
