"""Every package's tables, imported in one place so migrations see the whole schema."""

import connectors.ai_events.models
import connectors.feed.models
import connectors.inspection.models
import connectors.models
import connectors.notify.models
import connectors.qr.models
import connectors.sso.models  # noqa: F401
import detectors.models  # noqa: F401
import engine.models  # noqa: F401
import processes.checkin.models
import processes.maintenance.models
import processes.models  # noqa: F401
import registry.accounts.models
import registry.equipment.models
import registry.models
import registry.tags.models  # noqa: F401
import reports.models  # noqa: F401
import web.console.models  # noqa: F401
