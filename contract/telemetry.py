"""Metric names the functions publish (Powertools EMF) and the alarms and dashboard watch.

One namespace for every function; the ``service`` dimension Powertools adds is the function's
``POWERTOOLS_SERVICE_NAME`` (``contract.functions.FunctionSpec.service``).
"""

from __future__ import annotations

METRICS_NAMESPACE = "MobileBackend"
# The dimension Powertools Metrics adds to every metric from POWERTOOLS_SERVICE_NAME.
SERVICE_DIMENSION = "service"

# The subscriber's business counters (handlers/subscriber).
MESSAGES_APPLIED = "MessagesApplied"
MESSAGES_FAILED = "MessagesFailed"
DUPLICATE_MESSAGES_SKIPPED = "DuplicateMessagesSkipped"
USERS_CREATED = "UsersCreated"
