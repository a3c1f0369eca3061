"""The agent: claim a configuration, launch the program as `wandb agent` would, collect, report."""
