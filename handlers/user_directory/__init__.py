"""In-VPC lookup in the replicated user directory, invoked by the user-migration trigger."""
