"""``data``: fetch the registered data sets, or say what is there."""

from __future__ import annotations

import argparse

from starlib.cli.verb import Subparsers, Verb


def _add_data(sub: Subparsers) -> None:
    from starlib.data.fetch import MIRROR_ENV
    from starlib.data.registry import DATASETS, human_size
    from starlib.util.paths import DATA_ENV

    p = sub.add_parser("data", help="fetch the registered data sets into the data root, or say what is there",
                       description=f"The data sets ({', '.join(f'{n} {human_size(d.size)}' for n, d in DATASETS.items())}) "
                                   f"are fetched from their pinned sources into the data root (${DATA_ENV}, default "
                                   f"data/ in the repository), every file checked against its SHA-256; see "
                                   f"docs/datasets.md.")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    f = actions.add_parser("fetch", help="download (or copy from a mirror) what is missing or corrupt",
                           description="Fetch the named data sets (default: all) into the data root, in parallel; "
                                       "files already there and checked are kept, so a second run fetches only "
                                       "what is missing or corrupt.")
    f.add_argument("names", nargs="*", metavar="NAME", help=f"data sets: {', '.join(DATASETS)} (default: all)")
    f.add_argument("--all", action="store_true", help="every data set (the default when no NAME is given)")
    f.add_argument("--root", default=None, help=f"data root to fill (default: ${DATA_ENV}, else data/)")
    f.add_argument("--mirror", default=None, help=f"copy from this folder laid out like the data root instead of "
                                                  f"downloading (default: ${MIRROR_ENV} when set)")
    f.add_argument("--workers", type=int, default=8, help="files fetched at once (default 8)")
    f.add_argument("--quiet", action="store_true", help="no progress bar")
    s = actions.add_parser("status", help="each data set: present / missing / corrupt, with counts (exit 1 "
                                          "when any is incomplete)")
    s.add_argument("--root", default=None, help=f"data root to check (default: ${DATA_ENV}, else data/)")


def _run_data(args: argparse.Namespace) -> int:
    from starlib.data.fetch import fetch_command_main, status_command_main

    if args.action == "status":
        return status_command_main(args.root)
    return fetch_command_main([] if args.all else args.names, args.root, args.mirror, args.workers, args.quiet)


VERBS = {"data": Verb(_add_data, _run_data)}
