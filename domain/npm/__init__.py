"""npm: package names and versions, publish documents, the registry facade."""
