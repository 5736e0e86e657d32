"""On-site check-in (NFC 物理打卡): who was at which elevator when, and how that is proven."""
