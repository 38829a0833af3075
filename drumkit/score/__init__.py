"""Batch scoring: stream an input file through a Predictor into an output file."""
