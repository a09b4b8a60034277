"""Records of the hotels app."""
