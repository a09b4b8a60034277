"""Records of the entrants app."""
