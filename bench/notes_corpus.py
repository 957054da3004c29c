"""The real note collections the extraction quality is measured on, and how they are split.

    .venv/bin/python bench/notes_corpus.py list
    .venv/bin/python bench/notes_corpus.py export OUT_DIR --split tune      # notes one may tune on
    .venv/bin/python bench/notes_corpus.py export OUT_DIR --split holdout   # graded after the changes only

Each collection is a public repository at a fixed commit, written by people for themselves or for
their readers (course notes, interview notes, a handbook, a personal TIL log and wiki), none of it
by this project. It is read from a bare git mirror (`fetch` brings one to /work/.mirror; elsewhere
`git clone --mirror https://github.com/OWNER/NAME` into `--mirrors DIR/OWNER+NAME/repo`).

Split, so a quality claim is measured on notes nobody tuned on:
- `tune` collections: a note is `tune` or `holdout` by a hash of its path (about half each); the
  extractor and the checks may be tuned on `tune` notes only.
- `unseen` collections: every note is `holdout`; nobody looks at them before the final grading.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

MIRRORS = Path("/work/.mirror")


@dataclass(frozen=True)
class Collection:
    name: str
    repo: str  # owner/name on GitHub
    commit: str
    lang: str  # the language most notes are written in
    kind: str  # what people wrote it as
    include: tuple[str, ...]  # fnmatch patterns of the notes, relative to the repository root
    role: str  # "tune": split by path hash; "unseen": all held out
    exclude: tuple[str, ...] = ()

    def mirror(self, mirrors: Path = MIRRORS) -> Path:
        return mirrors / self.repo.replace("/", "+") / "repo"


COLLECTIONS: tuple[Collection, ...] = (
    Collection("so-large-lm", "datawhalechina/so-large-lm", "aec61236446157608dad94af513382114240e1c0", "zh",
               "course notes (large language models, 16 chapters)", ("docs/content/*.md",), "tune"),
    Collection("llm-interview", "wdndev/llm_interview_note", "581d54dd9a72e1d0a4eb28ae50859db83901b783", "zh",
               "interview notes (LLM engineering)", ("*.md",), "tune", exclude=("README.md", "_sidebar.md")),
    Collection("ml-engineering", "stas00/ml-engineering", "744d01e18b79512572f64a6bbd8b5f4a725203a7", "en",
               "handbook (ML engineering, 50+ chapters)", ("*.md",), "tune",
               exclude=("build/*", "contributors.md", "todo.md", "SKILL.md")),
    Collection("til", "jbranchaud/til", "453e9edbdf2be4165b65cbcce7342ac7bb9c4859", "en",
               "personal today-I-learned log (1,800 short notes)", ("*/*.md",), "tune"),
    Collection("cs-notes", "CyC2018/CS-Notes", "b70121d377cb6005eb65f12b098cd5decd905669", "zh",
               "interview notes (algorithms, OS, networks, databases)", ("notes/*.md",), "unseen"),
    Collection("knowledge", "nikitavoloboev/knowledge", "5842cd4df127dd050237ef679832a66704691a02", "en",
               "personal wiki", ("docs/*.md",), "unseen"),
)


def split_of(collection: Collection, path: str) -> str:
    """`tune` or `holdout`: fixed by a hash of the path, so it never moves as the code changes."""
    if collection.role == "unseen":
        return "holdout"
    return "tune" if hashlib.sha256(f"{collection.repo}:{path}".encode()).digest()[0] < 128 else "holdout"


def note_paths(collection: Collection, mirrors: Path = MIRRORS) -> list[str]:
    listing = subprocess.run(["git", "--git-dir", str(collection.mirror(mirrors)), "-c", "core.quotepath=off",
                              "ls-tree", "-r", "--name-only", collection.commit],
                             check=True, capture_output=True, text=True).stdout.splitlines()
    return sorted(p for p in listing
                  if any(fnmatch.fnmatch(p, pattern) for pattern in collection.include)
                  and not any(fnmatch.fnmatch(p, pattern) for pattern in collection.exclude))


def read_note(collection: Collection, path: str, mirrors: Path = MIRRORS) -> bytes:
    return subprocess.run(["git", "--git-dir", str(collection.mirror(mirrors)), "show",
                           f"{collection.commit}:{path}"], check=True, capture_output=True).stdout


def export(out: Path, split: str, names: list[str] | None = None, mirrors: Path = MIRRORS) -> dict[str, int]:
    """Write the notes of `split` under OUT/<collection>/<path>; returns notes per collection."""
    written = {}
    for collection in COLLECTIONS:
        if names and collection.name not in names:
            continue
        count = 0
        for path in note_paths(collection, mirrors):
            if split_of(collection, path) != split:
                continue
            target = out / collection.name / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(read_note(collection, path, mirrors))
            count += 1
        written[collection.name] = count
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mirrors", type=Path, default=MIRRORS)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list")
    exporting = commands.add_parser("export")
    exporting.add_argument("out", type=Path)
    exporting.add_argument("--split", choices=("tune", "holdout"), required=True)
    exporting.add_argument("--collection", action="append", help="Only these (default: all).")
    args = parser.parse_args()
    if args.command == "list":
        for c in COLLECTIONS:
            paths = note_paths(c, args.mirrors)
            tune = sum(split_of(c, p) == "tune" for p in paths)
            print(f"{c.name:15} {c.lang} {c.role:6} {len(paths):5} notes ({tune} tune)  {c.repo}@{c.commit[:10]}  "
                  f"{c.kind}")
    else:
        for name, count in export(args.out, args.split, args.collection, args.mirrors).items():
            print(f"{name}: {count} notes")


if __name__ == "__main__":
    main()
