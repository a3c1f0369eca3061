"""Load and validate sweep files and the project file. Imports nothing from the rest of sweepci
except errors."""
