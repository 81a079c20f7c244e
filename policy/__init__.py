"""The mobile-backend CrossGuard policy pack: ``controls`` (pure rules), ``pack`` (the
``pulumi_policy`` adapters) and ``__main__`` (what ``pulumi preview --policy-pack policy`` runs)."""
