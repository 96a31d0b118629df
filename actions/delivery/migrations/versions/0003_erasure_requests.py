"""erasure_requests, unless an older database has it already.

Parents' requests to erase their conversation, until now created on first use by erasure.py's own
create_all: an older database may have the table, so it is created only when missing."""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("erasure_requests"):
        return
    op.create_table(
        "erasure_requests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("conversation_id", sa.String(128), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("erased_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_erasure_requests_conversation_id", "erasure_requests", ["conversation_id"])


def downgrade() -> None:
    op.drop_index("ix_erasure_requests_conversation_id", table_name="erasure_requests")
    op.drop_table("erasure_requests")
