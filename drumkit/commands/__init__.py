"""One thin module per command: parse flags, call the shared layers, render the result."""
