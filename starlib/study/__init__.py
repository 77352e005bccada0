"""The paper study in four wings, each importing only the wings below it: setup (profiles, workspace), trainings
(recipes, catalog, plans, training, shipping), tables (scoring, Tables 1-10, claims, figures) and report
(pages, site, comparison UI), with the pipeline (pipeline.py) on top."""
