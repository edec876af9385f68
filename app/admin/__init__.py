"""Administration: users and their site roles."""
