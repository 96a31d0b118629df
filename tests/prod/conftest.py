"""The production suites' PostgreSQL: a server of each module's own, because the fault suite
restarts and blocks it (and the backup test restores into it)."""
from typing import Iterator

import pytest

from tests import pg


@pytest.fixture(scope="module")
def postgres() -> Iterator[pg.PostgresServer]:
    try:
        server = pg.PostgresServer()
    except pg.PostgresUnavailable as error:
        pytest.skip(str(error))
    try:
        yield server.initdb().start()
    finally:
        server.remove()
