"""Importing this registers the tiny test CLIPs (used by configs that a
child process loads through ``custom_imports``)."""
from tiny_models import register_tiny_models

register_tiny_models()
