"""Console entry points installed with the package (see pyproject.toml)."""

from __future__ import annotations

import argparse
import sys

from pystn.data import read_data_dir, validate_data_dir
from pystn.io import DataError


def validate_data_dir_main(argv=None) -> int:
    """``pystn-validate-data-dir [--allow-pipes] DIR...``: check Kaldi data dirs as pystn would."""
    ap = argparse.ArgumentParser(prog="pystn-validate-data-dir", description=validate_data_dir_main.__doc__)
    ap.add_argument("--allow-pipes", action="store_true", help="accept piped wav.scp entries ('cmd |')")
    ap.add_argument("dirs", nargs="+")
    args = ap.parse_args(argv)
    failed = 0
    for path in args.dirs:
        try:
            data = read_data_dir(path, allow_pipes=args.allow_pipes)
            validate_data_dir(data, path)
            print(f"{path}: OK ({len(data.utts)} utterances, {len(data.spk2utt())} speakers)")
        except DataError as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0
