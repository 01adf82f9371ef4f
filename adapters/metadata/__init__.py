"""MetadataStore adapters: SQLite (default), memory, and later PostgreSQL."""
