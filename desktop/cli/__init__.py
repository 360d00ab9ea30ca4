"""Headless `photo-search` subcommands over desktop.core."""
