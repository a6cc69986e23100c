"""The published manifest schema and example manifests, shipped inside the qrun package."""
