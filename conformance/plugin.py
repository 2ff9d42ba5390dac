"""pytest plugin (placeholder until the conformance helper lands the real one)."""
