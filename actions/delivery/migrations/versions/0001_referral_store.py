"""Referrals and deliveries, as metadata.create_all made them before migrations.

Constraints are left unnamed, as create_all left them, so a stamped old database and a migrated new
one are the same (PostgreSQL names them, e.g. referrals_submission_key_key)."""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "referrals",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("reference", sa.String(16), nullable=False),
        sa.Column("submission_key", sa.String(128), nullable=False),
        sa.Column("referral_type", sa.String(32), nullable=False),
        sa.Column("answers_json", sa.JSON(), nullable=False),
        sa.Column("data_json", sa.JSON(), nullable=False),
        sa.Column("consent_version", sa.String(32), nullable=False),
        sa.Column("consent_text", sa.Text(), nullable=False),
        sa.Column("consent_given_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="new"),
        sa.Column("conversation_id", sa.String(128), nullable=True),
        sa.Column("contacted_at", sa.DateTime(), nullable=True),
        sa.Column("contact_keys", sa.JSON(), nullable=True),
        sa.Column("duplicate_of", sa.String(16), nullable=True),
        sa.UniqueConstraint("reference"),
        sa.UniqueConstraint("submission_key"),
    )
    op.create_index("ix_referrals_conversation_id", "referrals", ["conversation_id"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("referral_id", sa.Integer(), sa.ForeignKey("referrals.id"), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("referral_id", "channel", name="uq_deliveries_referral_channel"),
    )


def downgrade() -> None:
    op.drop_table("deliveries")
    op.drop_index("ix_referrals_conversation_id", table_name="referrals")
    op.drop_table("referrals")
