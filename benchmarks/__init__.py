"""Scripts that measure speed, memory and quality; each prints its figures."""
