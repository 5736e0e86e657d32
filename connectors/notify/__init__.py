"""Outbound notifications: the in-app inbox, live push (SSE), e-mail and an SMS/IM gateway.

`base` is the small contract every channel meets; vendors (`smtp`, `gateway`) are plugins named in
`channels.PLUGINS` and loaded by name, so the flows never import a vendor.
"""
