"""`datarobot_drum.drum`: only the exceptions module is provided."""
