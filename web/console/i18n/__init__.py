"""The console's translations (source table per locale; the .po catalog is generated from it)."""
