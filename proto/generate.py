"""Regenerate the Python code for the wire contract in ``proto/``.

Run ``python proto/generate.py`` (``make proto``). The output goes to ``cs_gateway/gen`` and is
never edited by hand; ``tests/unit/test_generated_code.py`` regenerates into a temporary folder
and fails when the committed code is stale.

grpc_tools writes absolute imports (``from jukinet.cs.v1 import ...``); they are rewritten to
``cs_gateway.gen.jukinet...`` so that the generated modules live inside the package instead of
adding a top-level ``jukinet`` module to ``sys.path``.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

PROTO_ROOT = Path(__file__).resolve().parent
REPO_ROOT = PROTO_ROOT.parent
DEFAULT_OUT = REPO_ROOT / "cs_gateway" / "gen"
_IMPORT = re.compile(r"^(from|import) jukinet\.", re.MULTILINE)
_HEADER = '"""Generated from proto/ by proto/generate.py. Do not edit."""\n'


def proto_files() -> list[Path]:
    return sorted(PROTO_ROOT.rglob("*.proto"))


def generate(out_dir: Path) -> list[Path]:
    """Compile every .proto under proto/ into out_dir; return the files written."""
    import grpc_tools
    from grpc_tools import protoc  # imported here: only needed at build/test time

    well_known = Path(grpc_tools.__file__).parent / "_proto"
    with tempfile.TemporaryDirectory() as tmp:
        rel = [str(p.relative_to(PROTO_ROOT)) for p in proto_files()]
        args = [
            "protoc",
            f"-I{PROTO_ROOT}",
            f"-I{well_known}",
            f"--python_out={tmp}",
            f"--pyi_out={tmp}",
            f"--grpc_python_out={tmp}",
            *rel,
        ]
        if protoc.main(args) != 0:
            raise RuntimeError("protoc failed")
        written: list[Path] = []
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "__init__.py").write_text(_HEADER)
        written.append(out_dir / "__init__.py")
        for src in sorted(Path(tmp).rglob("*")):
            if src.is_dir():
                continue
            dest = out_dir / src.relative_to(tmp)
            dest.parent.mkdir(parents=True, exist_ok=True)
            text = _IMPORT.sub(r"\1 cs_gateway.gen.jukinet.", src.read_text())
            dest.write_text(text)
            written.append(dest)
        packages = {d for p in written for d in p.parents if d.is_relative_to(out_dir)}
        for pkg in sorted(packages):
            init = pkg / "__init__.py"
            if not init.exists():
                init.write_text(_HEADER)
            if init not in written:
                written.append(init)
        return sorted(written)


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    for path in generate(out):
        print(path.relative_to(out.parent) if out == DEFAULT_OUT else path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
