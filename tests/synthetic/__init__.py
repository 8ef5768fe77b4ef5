"""Synthetic documents rendered at test time (never saved into the repository)."""
