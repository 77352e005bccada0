"""The study's tables wing: the train-and-score path (entries), the floor, notebook 02's rows, Tables 1-10 and
ZSM, claims, targets, the scaling tables, figures and rendering. Imports only the trainings and setup wings below."""
