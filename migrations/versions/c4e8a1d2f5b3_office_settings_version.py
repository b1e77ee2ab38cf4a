"""office settings carry a version (two admins saving the Office page at once)

Revision ID: c4e8a1d2f5b3
Revises: eb5a15272bf9
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4e8a1d2f5b3'
down_revision = 'eb5a15272bf9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('office_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))


def downgrade():
    with op.batch_alter_table('office_settings', schema=None) as batch_op:
        batch_op.drop_column('version')
