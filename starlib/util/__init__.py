"""Small utilities every layer may use: atomic writes, seeding, hardware checks, paths, provenance."""
