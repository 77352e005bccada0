"""The data sets the study uses, declared once: what each is, where its bytes come from, how to cite it.

No third-party frames live in the repository. Each :class:`Dataset` names the public repository and the full
commit its files are taken from, and how our paths under the data root map to that repository's paths; its
file list (path, size, SHA-256) is ``starlib/data/manifests/<name>.json``. A file no upstream repository
holds (a list we made, e.g. the UCF101 ids kept for development) carries its text in the manifest and is
written from there. :mod:`starlib.data.fetch` downloads or copies the files and checks them;
``docs/datasets.md`` is generated from these records (:func:`datasets_markdown`).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

MANIFEST_DIR = Path(__file__).resolve().parent / "manifests"
RAW_URL = "https://raw.githubusercontent.com/{repository}/{commit}/{path}"


@dataclass(frozen=True)
class ManifestFile:
    """One file of a data set: ``path`` under the data set's folder, its size and SHA-256; ``text``: its content
    when no upstream repository holds it."""

    path: str
    size: int
    sha256: str
    text: str | None = None


@dataclass(frozen=True)
class Dataset:
    """One data set: ``folder`` under the data root; ``paths``: (our prefix, upstream prefix) pairs, the first
    matching prefix maps a file to its path in ``repository`` at ``commit``."""

    name: str
    folder: str
    role: str
    title: str
    description: str
    source: str
    repository: str
    commit: str
    paths: tuple[tuple[str, str], ...]
    citation: str
    licence: str
    #: files of ours that no upstream repository holds (lists we made): their text is in the manifest
    local: tuple[str, ...] = ()

    def upstream_path(self, path: str) -> str:
        """The path of our file ``path`` (relative to :attr:`folder`) in :attr:`repository`."""
        for ours, theirs in self.paths:
            if path.startswith(ours):
                return theirs + path[len(ours):]
        raise KeyError(f"{self.name}: no upstream path for {path!r}")

    def url(self, path: str) -> str:
        """The raw-file URL of our file ``path``, pinned to :attr:`commit`."""
        return RAW_URL.format(repository=self.repository, commit=self.commit, path=quote(self.upstream_path(path)))

    @property
    def manifest_path(self) -> Path:
        return MANIFEST_DIR / f"{self.name}.json"

    @property
    def files(self) -> tuple[ManifestFile, ...]:
        return _manifest(self.manifest_path)

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


@functools.cache
def _manifest(path: Path) -> tuple[ManifestFile, ...]:
    entries = json.loads(path.read_text(encoding="utf-8"))["files"]
    return tuple(ManifestFile(**e) for e in entries)


_CDFI = ("tding1/CDFI", "537291c7adc78117e50a31628f143aee9263ce20")
_TOFLOW_BIB = ("@article{xue2019video,\n  title = {Video Enhancement with Task-Oriented Flow},\n  author = {Xue, "
               "Tianfan and Chen, Baian and Wu, Jiajun and Wei, Donglai and Freeman, William T.},\n  journal = "
               "{International Journal of Computer Vision},\n  volume = {127}, number = {8}, pages = {1106--1125}, "
               "year = {2019}\n}")

DATASETS: dict[str, Dataset] = {d.name: d for d in (
    Dataset(
        name="middlebury", folder="middlebury", role="test",
        title='Middlebury optical-flow benchmark, "other" set',
        description="12 sequences (640x480, 584x388, 420x380): frame10, frame11 and the true middle frame "
                    "frame10i11, in Middlebury's own layout (other-data/, other-gt-interp/), which STARnet's "
                    "eval.py reads. other-data/test.txt lists the sequences in the order of STARnet's list. "
                    "Test data (Tables 7, 9): never trained on. Cross-checks: the same 36 files are in "
                    "HyeongminLEE/AdaCoF-pytorch (test_input/middlebury_others/); RubberWhale's two frames are "
                    "OpenCV's sample images rubberwhale1.png / rubberwhale2.png.",
        source="https://vision.middlebury.edu/flow/data/ (other-color-twoframes.zip, other-gt-interp.zip)",
        repository=_CDFI[0], commit=_CDFI[1],
        paths=(("other-data/", "test_data/middlebury_others/input/"),
               ("other-gt-interp/", "test_data/middlebury_others/gt/")),
        citation="@article{baker2011database,\n  title = {A Database and Evaluation Methodology for Optical Flow},\n"
                 "  author = {Baker, Simon and Scharstein, Daniel and Lewis, J. P. and Roth, Stefan and Black, "
                 "Michael J. and Szeliski, Richard},\n  journal = {International Journal of Computer Vision},\n"
                 "  volume = {92}, number = {1}, pages = {1--31}, year = {2011}\n}",
        licence="Published by Middlebury for research benchmarking; no licence file is attached to the images.",
        local=("other-data/test.txt",)),
    Dataset(
        name="ucf101", folder="ucf101_interp_ours", role="test",
        title="UCF101 frame-interpolation triplets of Deep Voxel Flow (ucf101_interp_ours)",
        description="285 of the 379 triplets (256x256): `<id>/frame_00.png`, `frame_01_gt.png` (true middle frame), "
                    "`frame_02.png`; `test.txt` lists the 285 ids. The other 94 (every 4th id in numeric order) are "
                    "kept apart as a hold-out. DVF's own results (`frame_01_ours.png`) are left out. Test data "
                    "(Tables 7-9).",
        source="https://github.com/liuziwei7/voxel-flow (ucf101_interp_ours.zip), crops of UCF101 videos",
        repository=_CDFI[0], commit=_CDFI[1],
        paths=(("", "test_data/ucf101_interp_ours/"),),
        citation="@inproceedings{liu2017video,\n  title = {Video Frame Synthesis using Deep Voxel Flow},\n"
                 "  author = {Liu, Ziwei and Yeh, Raymond A. and Tang, Xiaoou and Liu, Yiming and Agarwala, Aseem},\n"
                 "  booktitle = {IEEE International Conference on Computer Vision (ICCV)}, year = {2017}\n}\n"
                 "@techreport{soomro2012ucf101,\n  title = {{UCF101}: A Dataset of 101 Human Actions Classes From "
                 "Videos in The Wild},\n  author = {Soomro, Khurram and Zamir, Amir Roshan and Shah, Mubarak},\n"
                 "  institution = {Center for Research in Computer Vision, University of Central Florida},\n"
                 "  number = {CRCV-TR-12-01}, year = {2012}\n}",
        licence="UCF101 is distributed by UCF CRCV for research use; the DVF triplets carry no separate licence.",
        local=("test.txt",)),
    Dataset(
        name="davis", folder="train/davis_triplets", role="train",
        title="DAVIS interpolation triplets (30 sequences)",
        description="For each of 30 DAVIS sequences two consecutive frames (`input/<seq>/frame10.png`, "
                    "`frame11.png`) and the true frame between them (`gt/<seq>/frame10i11.png`), 320x180 to "
                    "1280x473. Training and validation material of the cpu profile.",
        source="https://davischallenge.org/",
        repository="HyeongminLEE/AdaCoF-pytorch", commit="6009ee99426397163d2f4eab11da56470a45c7ac",
        paths=(("", "test_input/davis/"),),
        citation="@inproceedings{perazzi2016benchmark,\n  title = {A Benchmark Dataset and Evaluation Methodology "
                 "for Video Object Segmentation},\n  author = {Perazzi, Federico and Pont-Tuset, Jordi and "
                 "McWilliams, Brian and Van Gool, Luc and Gross, Markus and Sorkine-Hornung, Alexander},\n"
                 "  booktitle = {IEEE Conference on Computer Vision and Pattern Recognition (CVPR)}, year = {2016}\n}\n"
                 "@article{pont2017davis,\n  title = {The 2017 {DAVIS} Challenge on Video Object Segmentation},\n"
                 "  author = {Pont-Tuset, Jordi and Perazzi, Federico and Caelles, Sergi and Arbel\\'aez, Pablo and "
                 "Sorkine-Hornung, Alexander and Van Gool, Luc},\n  journal = {arXiv:1704.00675}, year = {2017}\n}",
        licence="DAVIS frames are distributed by their authors for research use; check the DAVIS site's terms "
                "before any other use."),
    Dataset(
        name="toflow_clip", folder="train/toflow_clip", role="train",
        title="TOFlow example clip (12 consecutive 1280x720 frames)",
        description="`frames/01.png` ... `12.png`: the first 12 frames of the 20-frame example clip TOFlow uses to "
                    "demonstrate frame interpolation. Training material (septuplets, Table 5) of the cpu profile, "
                    "and the clip the ZSM table scores when no test set is given.",
        source="Xue, Chen, Wu, Wei, Freeman (TOFlow); the video comes from Vimeo",
        repository="anchen1011/toflow", commit="941eae530199e646118cc5ec36b4a8896ebeb24b",
        paths=(("frames/", "data/example/low_frame_rate/"),),
        citation=_TOFLOW_BIB,
        licence="The repository is MIT-licensed; the underlying video is under its Vimeo uploader's terms."),
    Dataset(
        name="vid4", folder="vid4", role="test",
        title="Vid4 (ground truth of calendar, city, foliage, walk)",
        description="GT/calendar (41 frames, 720x576), GT/city (34, 704x576), GT/foliage (49, 720x480), GT/walk "
                    "(47, 720x480): 171 RGB PNG frames, names as in the source (\"Frame 001.png\"; sort as strings). "
                    "No LR frames: they are made from GT by the protocol being reproduced (BI x4, MATLAB-style "
                    "bicubic, for the ZSM protocol). Test data (Table ZSM).",
        source="Liu & Sun, On Bayesian Adaptive Video Super Resolution (the BayesSR clips)",
        repository="yhjo09/VSR-DUF", commit="f6b3c92b4fb746e9072953df4876168b1a83e449",
        paths=(("GT/", "inputs/G/"),),
        citation="@article{liu2014bayesian,\n  title = {On {Bayesian} Adaptive Video Super Resolution},\n"
                 "  author = {Liu, Ce and Sun, Deqing},\n  journal = {IEEE Transactions on Pattern Analysis and "
                 "Machine Intelligence},\n  volume = {36}, number = {2}, pages = {346--360}, year = {2014}\n}",
        licence="Research benchmark; no licence attached by its authors."),
    Dataset(
        name="vimeo_lists", folder="vimeo90k_septuplet_lists", role="test lists",
        title="Vimeo-90K septuplet test lists by motion: Fast / Medium / Slow",
        description="Clip ids (`<folder>/<clip>`) of the Vimeo-90K septuplet test set split by motion as Zooming "
                    "Slow-Mo did: fast 1,225, medium 4,977, slow 1,613. The frames are the Vimeo-90K septuplet "
                    "download (82 GB, not fetched here: give its folder as [zsm] vimeo_septuplet_root).",
        source="Zooming Slow-Mo (Xiang et al.), datasets/meta_info/",
        repository="Mukosame/Zooming-Slow-Mo-CVPR-2020", commit="a053e08bb0bb5509f634b523256718f502637667",
        paths=(("", "datasets/meta_info/"),),
        citation="@inproceedings{xiang2020zooming,\n  title = {Zooming Slow-Mo: Fast and Accurate One-Stage "
                 "Space-Time Video Super-Resolution},\n  author = {Xiang, Xiaoyu and Tian, Yapeng and Zhang, Yulun "
                 "and Fu, Yun and Allebach, Jan P. and Xu, Chenliang},\n  booktitle = {IEEE/CVF Conference on "
                 "Computer Vision and Pattern Recognition (CVPR)}, year = {2020}\n}\n" + _TOFLOW_BIB,
        licence="Lists of data item names (facts), carried with attribution; the repository is GPL-3.0."),
)}


def dataset(name: str) -> Dataset:
    """The registered data set ``name``; an unknown name is an error listing the known ones."""
    if name not in DATASETS:
        raise KeyError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[name]


def human_size(n: int) -> str:
    """``n`` bytes as MB with one decimal (``"14.1 MB"``)."""
    return f"{n / 1e6:.1f} MB"


def datasets_markdown() -> str:
    """``docs/datasets.md``: every data set's role, size, source, pinned repository, citation and licence."""
    total = sum(d.size for d in DATASETS.values())
    lines = [
        "# Data sets",
        "",
        "<!-- generated from starlib/data/registry.py by `python tools/data_manifests.py --docs`; "
        "tests/test_fetch.py keeps it equal -->",
        "",
        "The repository holds no third-party frames. Each data set below is declared in "
        "`starlib/data/registry.py` with the public repository and full commit its files come from, and its file "
        "list with SHA-256 in `starlib/data/manifests/<name>.json`. `python -m starlib data fetch --all` "
        f"downloads them ({human_size(total)} in all) into the data root (`$STARLIB_DATA`, default `data/` in the "
        "repository, git-ignored) and checks every file; `--mirror DIR` (or `$STARLIB_DATA_MIRROR`) copies them "
        "from a local folder laid out like the data root instead. `python -m starlib data status` says what is "
        "present, missing or corrupt. `make test` and `make reproduce` fetch first (`make test DATA_MIRROR=DIR` "
        "to use a mirror).",
        "",
        "| name | folder under the data root | role | files | size |",
        "| --- | --- | --- | --- | --- |",
    ]
    for d in DATASETS.values():
        lines.append(f"| `{d.name}` | `{d.folder}/` | {d.role} | {len(d.files)} | {human_size(d.size)} |")
    for d in DATASETS.values():
        made = d.local
        lines += [
            "", f"## `{d.name}`: {d.title}", "", d.description, "",
            f"- Original source: {d.source}",
            f"- Files from: https://github.com/{d.repository} at commit `{d.commit}` (bytes unchanged), "
            + "; ".join(f"`{ours or './'}` = `{theirs}`" for ours, theirs in d.paths),
            f"- URL of a file: `{RAW_URL.format(repository=d.repository, commit=d.commit, path='<path>')}`",
        ]
        if made:
            lines.append(f"- Written from the manifest (in no upstream repository): {', '.join(f'`{m}`' for m in made)}")
        lines += [f"- Licence: {d.licence}", "- Cite:", "", "```bibtex", d.citation, "```"]
    return "\n".join(lines) + "\n"
