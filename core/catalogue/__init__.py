"""The catalogue a province administers: offices, post offices, procedures and price tiers.

Each kind is imported from and exported to a flat CSV or Excel file (docs/catalogue.md);
an import is validated row by row and applied all or nothing, as an upsert by natural key.
"""
