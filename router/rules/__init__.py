"""Routing rules: the config model, its loader and the planner that applies it."""
