"""The study's setup wing: what a profile is (profile.py, the TOML files in ../profiles/), where a workspace reads
and writes (workspace.py) and the scores shipped in git (shipped_scores.py). Imports nothing else of the study."""
