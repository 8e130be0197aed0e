"""Generates the gRPC stubs from the repository's protos while the package is built.

The protos are the one source of truth, so the stubs are never committed: `build_py` runs
`grpc_tools.protoc` (a build requirement, see pyproject.toml) over them into the build tree.
They are looked for in `proto/` beside this file (where an sdist carries them) and then in
`../../proto` (the repository, for `pip install ./clients/python`); COMPLAINTFLOW_PROTO_DIR
overrides both.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent
PACKAGE = "complaintflow"


def proto_root() -> Path:
    override = os.environ.get("COMPLAINTFLOW_PROTO_DIR")
    candidates = [Path(override)] if override else [HERE / "proto", HERE.parent.parent / "proto"]
    for candidate in candidates:
        if (candidate / PACKAGE / "v1").is_dir():
            return candidate
    raise SystemExit(
        "complaintflow: no protos found (looked in "
        + ", ".join(str(c) for c in candidates)
        + "); build from the repository checkout or set COMPLAINTFLOW_PROTO_DIR"
    )


def proto_files(root: Path) -> list[str]:
    files = sorted(str(p.relative_to(root)) for p in (root / PACKAGE).rglob("*.proto"))
    if not files:
        raise SystemExit(f"complaintflow: no .proto files under {root / PACKAGE}")
    return files


def generate(out: Path) -> None:
    from grpc_tools import protoc

    root = proto_root()
    well_known = resources.files("grpc_tools") / "_proto"
    stubs = out / PACKAGE / "v1"
    # A build directory outlives builds: stubs of a proto since removed must not ship.
    for stale in stubs.glob("*_pb2*.py*"):
        stale.unlink()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="complaintflow-plugins-") as plugins:
        args = [
            "grpc_tools.protoc",
            f"-I{root}",
            f"-I{well_known}",
            f"--python_out={out}",
            f"--grpc_python_out={out}",
            # Type stubs of the messages and of the service stubs (mypy-protobuf).
            f"--plugin=protoc-gen-mypy={plugin(Path(plugins), 'main')}",
            f"--mypy_out={out}",
            f"--plugin=protoc-gen-mypy_grpc={plugin(Path(plugins), 'grpc')}",
            f"--mypy_grpc_out={out}",
            *(str(root / f) for f in proto_files(root)),
        ]
        if protoc.main(args) != 0:
            raise SystemExit(f"complaintflow: grpc_tools.protoc failed on the protos in {root}")


def plugin(directory: Path, entry: str) -> Path:
    """An executable that runs a mypy-protobuf entry point with this interpreter: the
    build environment's scripts directory need not be on PATH."""
    script = directory / f"protoc-gen-mypy-{entry}"
    script.write_text(f"#!{sys.executable}\nfrom mypy_protobuf.main import {entry}\n{entry}()\n")
    script.chmod(0o755)
    return script


class BuildWithStubs(build_py):
    def run(self) -> None:
        super().run()
        # An editable install imports from src/, so the stubs go there (they are ignored by git).
        target = HERE / "src" if getattr(self, "editable_mode", False) else Path(self.build_lib)
        generate(target)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        # Lets the wheel's RECORD and editable installs know about the generated files.
        outputs = list(super().get_outputs(include_bytecode))
        stubs = Path(self.build_lib) / PACKAGE / "v1"
        if stubs.is_dir():
            outputs += [str(p) for p in stubs.glob("*_pb2*.py*") if str(p) not in outputs]
        return outputs


class SdistWithProtos(sdist):
    """An sdist carries the protos in proto/, so that it builds away from the repository."""

    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        root = proto_root()
        for relative in proto_files(root):
            dest = Path(base_dir) / "proto" / relative
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / relative, dest)


setup(cmdclass={"build_py": BuildWithStubs, "sdist": SdistWithProtos})
