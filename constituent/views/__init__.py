"""Blueprints, one per area: parse the form, call a service, render or redirect."""
