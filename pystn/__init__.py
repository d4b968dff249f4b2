"""pystn: a staged, Snakemake-driven toolkit reproducing five speech-disentanglement papers."""

__version__ = "0.1.0"
