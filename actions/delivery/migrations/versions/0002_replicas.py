"""Claim tokens on deliveries, and an index for finding due jobs.

Several delivery workers at once: a claim token is written with each lease, so only the claim that is
still current can mark its job sent or failed."""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("claim_token", sa.String(32), nullable=True))
    op.create_index("ix_deliveries_due", "deliveries", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_due", table_name="deliveries")
    op.drop_column("deliveries", "claim_token")
