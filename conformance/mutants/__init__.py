"""Deliberately broken cache implementations the spec must catch."""
