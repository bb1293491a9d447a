"""Platform adapters: each maps its platform's updates to `Incoming` and sends `Outgoing` back."""
