"""Schema migration function invoked by `pulumi up` in the writer region."""
