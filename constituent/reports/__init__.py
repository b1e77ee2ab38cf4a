"""Presentation of the summaries: tables of formatted cells (``tables``) and SVG charts
(``charts``). Reports read services' figures and never change data."""
