"""referrals.safety_kinds: the kinds of safety reply given in the referral's conversation (issue 11).

Staff are told so they can contact that family first; the parent's words are never stored here."""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("referrals", sa.Column("safety_kinds", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("referrals") as batch:
        batch.drop_column("safety_kinds")
