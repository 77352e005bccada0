"""Running trained networks on frames: tiling, the pair runner shared by scoring and ``enhance``, video I/O."""
