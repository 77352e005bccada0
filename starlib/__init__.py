"""starlib: a reproducible implementation of STARnet (Haris et al., CVPR 2020).

Importing ``starlib`` does nothing but define things: no files are read, no devices are touched.
"""

__version__ = "0.1.0"
