"""Sample universe of fixture news sites and the stdlib server that serves them."""
