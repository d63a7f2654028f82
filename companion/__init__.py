"""SampleMind Companion: suggests the next sample or loop beside the producer's DAW."""

__version__ = "0.1.0"
