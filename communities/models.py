"""Records of the communities app."""
