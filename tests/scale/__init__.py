"""Scale: bounded queries per batch, the generator, bulk feeds, the purge."""
