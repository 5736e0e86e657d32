"""Check-in tags (NFC 物理打卡): three per elevator (car, pit, machine room)."""
