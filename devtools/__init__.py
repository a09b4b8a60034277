"""Tools that are not the product: the demo data, the population generator and the benchmarks.

Installed and routed by the local and test settings only (config/settings/local.py, test.py) and
by the benchmarks' own settings; the production settings neither install nor route it, and no
module of the product imports it (the import contract in pyproject.toml).
"""
