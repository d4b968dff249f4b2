#!/usr/bin/env python
"""Phone transcripts of Kaldi data dirs via espeak-ng: <data_dir>/text -> <out_dir>/<split>/text (+ phones.txt).

usage: make_phones.py [--voice en-us] <data_root> <out_dir>
  <data_root>/{train,val,test}/text are read; the phone inventory (CTC blank
  first) is built from the training split and written to <out_dir>/phones.txt.
  Where a split's data dir has a phone alignment (phone_ali), it is checked
  and copied to <out_dir>/<split>/ali (frame targets for the DNNs).
"""

import argparse
import sys
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as steps/<name>.py
from pystn.data import read_alignment
from pystn.io import DataError, read_kv, write_kv, write_text
from pystn.phonemes import PhoneCache, build_inventory, phones_of_utts
from pystn.workflow import SPLITS


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--voice", default="en-us")
    ap.add_argument("data_root")
    ap.add_argument("out_dir")
    args = ap.parse_args(argv)
    out = Path(args.out_dir)
    cache = PhoneCache(None, args.voice)
    seqs = {}
    for split in SPLITS:
        text_path = Path(args.data_root) / split / "text"
        if not text_path.is_file():
            raise DataError(f"{text_path} missing: the BNF DNN needs transcripts of every split")
        seqs[split] = phones_of_utts(read_kv(text_path), cache)
        write_kv(out / split / "text", {u: " ".join(p) for u, p in seqs[split].items()})
        ali_path = Path(args.data_root) / split / "phone_ali"
        if ali_path.is_file():
            ali = read_kv(ali_path)
            for utt, value in ali.items():
                read_alignment(value, f"{ali_path}: {utt}")
            write_kv(out / split / "ali", ali)
    write_text(out / "phones.txt", "\n".join(build_inventory(seqs["train"].values())) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
