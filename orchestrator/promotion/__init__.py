"""Promotion targets: the best prod run's model gets an alias, locally (the store) or on W&B.

`base.py` holds the rules and types both targets share; `local.py` and
`wandb.py` implement them; `commands/promote.py` picks the target.
"""
