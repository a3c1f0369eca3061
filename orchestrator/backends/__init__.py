"""Backends: `local` (embedded engine + SQLite) and `wandb` (the W&B sweep server), one interface."""
