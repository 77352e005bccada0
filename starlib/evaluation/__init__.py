"""Scoring methods on test windows: the method protocol, metrics per item, statistics, baselines, cascades."""
