"""The public face: what ECHO is, how to become a hub, the "Join a network" directory,
expressions of interest and the top-line impact figures."""
