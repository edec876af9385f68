"""Training: the curriculum from modules/, lessons, knowledge checks and progress."""
