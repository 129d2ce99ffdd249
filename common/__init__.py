"""Leaf modules of pure functions (URLs, packaged data folders) that every layer may import.

Nothing here imports crawler, pipelines, storage or config.
"""
