"""The embedded local runtime: serves a synthesized cloud assembly as AWS would, on one machine."""
