"""Camera AI events: the signed webhook (`POST /hooks/ai-events`) and the one path every AI event
takes to a case (`flows.accept_event`), shared with detectors/vision."""
