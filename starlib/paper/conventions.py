"""Numeric conventions of the authors' data pipeline that more than one layer needs (spec 5.4)."""

#: px; the authors clip flows to +-MAX_FLOW and map them to ``-f / MAX_FLOW`` (the sign flip is theirs).
MAX_FLOW = 150.0
