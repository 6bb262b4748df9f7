"""Data access: one module per entity on top of the generic helpers in `base`."""
