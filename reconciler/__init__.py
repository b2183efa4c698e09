"""Edge routing reconciler: keeps CloudFront dynamic origin routing equal to route files in Git."""

__version__ = "0.1.0"
