"""Online-marketplace trafficking ad detector: ingest, understand, classify, link."""

__version__ = "0.1.0"
