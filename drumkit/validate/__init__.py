"""`drumkit validate`: metadata schema checks and model checks, collected in a Report."""
