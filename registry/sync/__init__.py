"""Register sync: what each source (the provincial platform, maintenance units, inspection, local
edits) says about each field of a record, which source set each field, and the conflicts between them."""
