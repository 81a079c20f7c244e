"""One Pulumi ComponentResource per tier. Components read no config, export nothing and
create no providers: stacks/ pass settings and providers in."""
