"""Single sign-on with the city platform over OpenID Connect (authorization code + PKCE), with Authlib."""
