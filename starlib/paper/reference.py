"""Reference numbers that come from outside this code base, each with its source.

Nothing here is a result of ours: these are the values ours are compared with.
"""

from __future__ import annotations

#: Parameter counts of the authors' networks at paper widths, derived from their layer lists
#: (shared/docs/starnet-spec.md section 3.9, "[derived]"), keyed by our component names.
SPEC_PARAMETER_COUNTS: dict[str, int] = {
    "net_s": 12_763_303,            # RBPN with nFrames=2, incl. the unused res_feat3 (1,418,118)
    "net_s.DBPN": 3_961_936,
    "net_s.res_feat3": 1_418_118,
    "net_m": 9_472 + 2_507_840,     # motion_feat + motion
    "motion_down": 672_128,         # Net_D
    "interp_block": 10_529_984,     # Net_ST LR->HR path
    "motion_up_f": 10_529_984,      # Net_F
    "motion_up_b": 10_529_984,      # Net_B
    "t_net_hr": 6_487_936,          # T-SR on S-HR (with the pyramid module)
    "t_net_lr": 4_056_448,          # T-SR on S-LR
    "net_rec": 1_731 + 3_459,       # reconstruction_h + reconstruction_l
    "flow_net": 53_518_594,         # FR U-Net(8, 2), BatchNorm affine included
}

#: Whole-network totals (same source). Keys: the authors' class names.
SPEC_TOTALS: dict[str, int] = {
    "FBPNSR_RBPN_V2": 54_035_821,   # HR T-SR path only
    "FBPNSR_RBPN_V3": 51_604_333,   # LR T-SR path only
    "FBPNSR_RBPN_V4": 58_092_269,   # STARnet w/o FR
    "FBPNSR_RBPN_V4_REF": 111_610_863,  # STARnet
}

#: Every number of the paper's Tables 1-10, one row each (``starlib/paper_results.csv``, typed in from
#: ``shared/paper/starnet-cvpr2020.txt``). Outputs use our names: ``sr_t`` = I_t^sr, ``sr_mid`` = I_{t+}^sr,
#: ``lr_mid`` = I_{t+}^l, ``hr_mid`` = T-SR at the original resolution (Table 9). Metric ``ie`` is Table 9's
#: "Other IE" column: for the other methods the mean absolute error that VFI papers report, for STARnet
#: what its ``inter_error.m`` computes (spec 7.2), so the column mixes two definitions; ``ie_rms`` is the
#: Middlebury dashboard's "Eval IE".
PAPER_RESULTS_FILE = "paper_results.csv"


def paper_results():
    """The paper's reported numbers as a DataFrame (table, method, dataset, output, metric, value)."""
    import pandas as pd
    from importlib.resources import files

    with files("starlib.paper").joinpath(PAPER_RESULTS_FILE).open() as f:
        return pd.read_csv(f)
