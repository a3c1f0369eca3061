"""The tool's workflows as plain functions (create/run/join a sweep, results, promote, reproduce a run).

`cli/` parses arguments, calls one of these and prints what it returns; the
functions print nothing for the user themselves (progress lines on stderr
aside), so scripts and tests call them directly.
"""
