"""Passenger QR codes: the public mobile page per elevator (`/r/{code}`), 一键救援 and complaints that
become cases through processes/intake, the tracking page, QR images and the printable signs."""
