"""What samplers and the store share: a run as a sampler sees it, and a config's identity.

Below both `search/` and `store/` (as optuna.trial sits below Optuna's
samplers and storages): it imports nothing from the rest of the package.
"""
