"""Object storage: outputs, skills and client files behind one small protocol.

``open_object_store(settings)`` returns the store ``STORAGE_URL`` names: a local folder (``file:///…``,
the embedded default) or S3 / an S3-compatible server (``s3://bucket/prefix``). The key layout lives in
:mod:`marketing_agent.storage.keys`; see ``docs/storage.md``.
"""

from marketing_agent.storage import keys
from marketing_agent.storage._factory import open_object_store
from marketing_agent.storage._local import LocalObjectStore
from marketing_agent.storage._memory import MemoryObjectStore
from marketing_agent.storage._protocol import DEFAULT_CONTENT_TYPE, ObjectInfo, ObjectStore
from marketing_agent.storage._s3 import S3ObjectStore

__all__ = [
    "DEFAULT_CONTENT_TYPE",
    "LocalObjectStore",
    "MemoryObjectStore",
    "ObjectInfo",
    "ObjectStore",
    "S3ObjectStore",
    "keys",
    "open_object_store",
]
