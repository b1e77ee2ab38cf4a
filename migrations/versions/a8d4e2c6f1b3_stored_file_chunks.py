"""stored file chunks: uploads kept in the database (CONSTITUENT_UPLOAD_STORAGE=database)

Revision ID: a8d4e2c6f1b3
Revises: f3a9c2e1b7d4
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a8d4e2c6f1b3'
down_revision = 'f3a9c2e1b7d4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stored_file_chunks',
    sa.Column('storage_key', sa.String(length=255), nullable=False),
    sa.Column('chunk', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('storage_key', 'chunk', name=op.f('pk_stored_file_chunks'))
    )


def downgrade():
    op.drop_table('stored_file_chunks')
