"""The outbound feed (数据推送): case events, warnings and register changes pushed, signed and in
order per case, to subscribed platforms, and readable by cursor (`GET /api/v1/feed`)."""
