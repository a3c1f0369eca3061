"""The tool's workflows as plain functions (create/run/join a sweep, reproduce a run, ...); cli/ calls them."""
