"""The shared predictor layer: code dir -> model -> checked predictions. No HTTP, no terminal."""
