"""The study's report wing: the pages in docs/results/ (report.py), the static site of executed notebooks
(site.py) and notebook 13's comparison widgets (compare_ui.py). Imports only the wings below it."""
