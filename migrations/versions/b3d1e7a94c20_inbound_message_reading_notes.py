"""mail: what the page says about a message's reading (parts shown/skipped, charsets, damage)

Revision ID: b3d1e7a94c20
Revises: 6f26b884230d
Create Date: 2026-12-01

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b3d1e7a94c20"
down_revision = "6f26b884230d"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reading_notes", sa.Text(), server_default="", nullable=False)
        )


def downgrade():
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.drop_column("reading_notes")
