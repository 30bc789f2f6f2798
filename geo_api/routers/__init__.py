"""One small router module per resource."""
