"""The paper study: typed profiles, recipes, the train-and-score path, Tables 1-10, claims, figures, pipeline."""
