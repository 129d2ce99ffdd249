"""Data folders shipped inside the packages, usable even when imported from a zipped egg."""

from __future__ import annotations

import hashlib
import tempfile
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path


def _copy_tree(source: Traversable, target: Path) -> None:
    """Copy a packaged folder out of an archive, file by file."""
    target.mkdir(parents=True, exist_ok=True)
    for entry in source.iterdir():
        if entry.is_dir():
            _copy_tree(entry, target / entry.name)
        elif not (target / entry.name).exists():
            partial = target / f".{entry.name}.partial"
            partial.write_bytes(entry.read_bytes())
            partial.replace(target / entry.name)


def package_dir(package: str, *parts: str) -> Path:
    """A package's data folder on disk; extracted to a temp folder when the package is zipped.

    scrapyd runs the project from an egg (a zip file): Alembic and the YAML loaders need
    real files, so the folder is copied out once per egg, under a name derived from its bytes.
    """
    resource = files(package).joinpath(*parts)
    if isinstance(resource, Path):
        return resource
    archive = getattr(getattr(resource, "root", None), "filename", None)
    content = Path(archive).read_bytes() if archive else str(resource).encode("utf-8")
    digest = hashlib.sha256(content).hexdigest()[:16]
    target = Path(tempfile.gettempdir(), f"newsagg-{digest}", package, *parts)
    _copy_tree(resource, target)
    return target
