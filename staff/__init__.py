"""The staff layer: what staff see that crosses apps, composed above the core and the record apps.

The admin site, the person page's explanation (the status with the records of every app), and the
per-role dashboards. It may import the core (health) and the record apps (communities, hotels,
entrants); nothing below imports it (the import contract in pyproject.toml).
"""
