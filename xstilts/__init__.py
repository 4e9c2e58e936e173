"""xstilts: zero-shot cross-lingual transfer with English intermediate-task training (X-STILTs)."""

__version__ = "0.1.0"
