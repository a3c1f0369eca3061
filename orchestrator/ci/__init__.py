"""Where a sweep comes from: GitHub Actions or local git context, routing, tags, the prod guard."""
