"""Who gets in: the sign-in throttle (an authentication backend, so every way to sign in
passes it), the sign-in forms, and cutting off API tokens when a password changes."""
