"""medmine: healthcare data mining on an OMOP-shaped warehouse.

>>> from medmine.warehouse import Warehouse
>>> wh = Warehouse(":memory:")
>>> "person" in wh.table_names()
True
"""

from __future__ import annotations

__version__ = "0.1.0"
