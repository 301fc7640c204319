"""`medmine serve`: web workspace, REST API and CDS Hooks service over a warehouse.

Roles and permissions in `medmine.serve.auth`, accounts in `medmine.serve.users`, the
application in `medmine.serve.app`.
"""

from medmine.serve.app import create_app
from medmine.serve.auth import PERMISSIONS, CdsClients
from medmine.serve.state import ServeSettings
from medmine.serve.users import ROLES, UserStore, users_path

__all__ = [
    "PERMISSIONS",
    "ROLES",
    "CdsClients",
    "ServeSettings",
    "UserStore",
    "create_app",
    "users_path",
]
