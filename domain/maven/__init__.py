"""Maven: repository layout, version order, generated metadata, the registry facade."""
