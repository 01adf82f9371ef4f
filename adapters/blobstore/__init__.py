"""BlobStore adapters: local filesystem (default), memory, and later S3."""
