"""Reading channel exports: one pure parser per format, and idempotent storage."""
